/*
 * fsutil.c: fsync of a file and of its directory (see fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

/* Room for any directory name the callers accept (their paths are bounded
 * at 4096 bytes too). */
#define FS_DIR_MAX 4096

int fs_sync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	int rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno; /* the caller reports the fsync's error, not close's */
	if (close(fd) != 0 && rc == 0)
		return -1;
	errno = e;
	return rc;
}

int fs_sync_parent_dir(const char *path)
{
	char dir[FS_DIR_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return fs_sync_path(".", 1);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	return fs_sync_path(dir, 1);
}

int fs_sync_new_file(const char *path)
{
	if (fs_sync_path(path, 0) != 0)
		return -1;
	return fs_sync_parent_dir(path);
}
