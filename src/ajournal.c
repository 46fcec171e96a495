/*
 * ajournal.c: the audit journal files beside the database (see ajournal.h).
 * The journal is a file of reserved (fallocated) space mapped into memory:
 * a record is a copy into the mapping, with no system call on the read
 * path, and once there it survives the process being killed, like a commit
 * of the database itself under synchronous=NORMAL. Space is reserved before
 * it is used, so a full disk fails the reservation cleanly instead of a
 * store into the mapping. A record's length is written last: a record torn
 * by a crash reads as the end of the journal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ajournal.h"
#include "crypto.h"

#define AJ_PATH_MAX 4096
#define AJ_SUFFIX   ".j"
#define AJ_INFIX    "-audit-"
/* First reservation; doubled when a bulk transaction needs more. */
#define AJ_INITIAL ((size_t)64 << 10)
/* An orphan larger than this is kept and left for an operator: a journal
 * holds one batch of entries, or one bulk transaction's. */
#define AJ_ORPHAN_MAX ((size_t)256 << 20)

struct ajournal {
	int fd;
	unsigned char *map;
	size_t cap;  /* bytes reserved and mapped */
	size_t used; /* bytes of records */
	char id[AJ_ID_HEX + 1];
	char path[AJ_PATH_MAX];
};

static int journal_path(char *out, const char *db_path, const char *id,
			const char *suffix)
{
	int n = snprintf(out, AJ_PATH_MAX, "%s" AJ_INFIX "%s%s", db_path, id,
			 suffix);

	return n < 0 || n >= AJ_PATH_MAX ? -1 : 0;
}

/* Reserves and maps cap bytes; errno is set on failure. */
static int reserve(ajournal *j, size_t cap)
{
	unsigned char *m;
	int rc;

	if (cap > AJ_ORPHAN_MAX) {
		errno = EFBIG;
		return -1;
	}
	rc = posix_fallocate(j->fd, 0, (off_t)cap);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, j->fd, 0);
	if (m == MAP_FAILED)
		return -1;
	if (j->map != NULL)
		munmap(j->map, j->cap);
	j->map = m;
	j->cap = cap;
	return 0;
}

ajournal *ajournal_create(const char *db_path, char *err, size_t errlen)
{
	char tmp[AJ_PATH_MAX];
	ajournal *j = calloc(1, sizeof *j);

	if (j == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->fd = -1;
	sec_random_id(j->id);
	if (journal_path(tmp, db_path, j->id, ".new") != 0 ||
	    journal_path(j->path, db_path, j->id, AJ_SUFFIX) != 0) {
		snprintf(err, errlen, "the database path is too long");
		goto fail;
	}
	/* Made under a name that orphan searches pass over and renamed once
	 * locked and reserved, so no other handle can take a new journal
	 * for a dead one's. */
	j->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	if (j->fd < 0 || flock(j->fd, LOCK_EX | LOCK_NB) != 0 ||
	    reserve(j, AJ_INITIAL) != 0 || rename(tmp, j->path) != 0) {
		snprintf(err, errlen,
			 "cannot create the audit journal beside the "
			 "database: %s",
			 strerror(errno));
		if (j->fd >= 0)
			unlink(tmp);
		goto fail;
	}
	return j;
fail:
	if (j->map != NULL)
		munmap(j->map, j->cap);
	if (j->fd >= 0)
		close(j->fd);
	free(j);
	return NULL;
}

const char *ajournal_id(const ajournal *j)
{
	return j->id;
}

int ajournal_append(ajournal *j, const unsigned char *rec, size_t len)
{
	size_t cap = j->cap;

	if (len < 4) {
		errno = EINVAL;
		return -1;
	}
	/* Room for the record and the zero length that ends the journal. */
	while (cap - j->used < len + 4)
		cap *= 2;
	if (cap != j->cap && reserve(j, cap) != 0)
		return -1;
	memcpy(j->map + j->used + 4, rec + 4, len - 4);
	/* The body is in place before the length makes it a record. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(j->map + j->used, rec, 4);
	j->used += len;
	return 0;
}

int ajournal_truncate(ajournal *j)
{
	if (j->used == 0)
		return 0;
	/* The first length first: from then on the journal reads as
	 * empty, whatever a crash leaves of the rest. */
	memset(j->map, 0, 4);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(j->map + 4, 0, j->used - 4);
	j->used = 0;
	return 0;
}

void ajournal_close(ajournal *j, int remove)
{
	if (j == NULL)
		return;
	/* Removed while still locked: no other handle can see a journal
	 * that is half-way gone. */
	if (remove)
		unlink(j->path);
	munmap(j->map, j->cap);
	close(j->fd);
	free(j);
}

/* Reads a whole small file; NULL when it cannot. */
static unsigned char *read_all(int fd, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb) != 0 || sb.st_size < 0 ||
	    (size_t)sb.st_size > AJ_ORPHAN_MAX)
		return NULL;
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL)
		return NULL;
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return buf;
}

/* The id of a journal file name of this database, or -1. */
static int orphan_id(const char *name, const char *base, char id[33])
{
	size_t nb = strlen(base), ni = strlen(AJ_INFIX);

	if (strncmp(name, base, nb) != 0 ||
	    strncmp(name + nb, AJ_INFIX, ni) != 0)
		return -1;
	name += nb + ni;
	if (strlen(name) != AJ_ID_HEX + strlen(AJ_SUFFIX) ||
	    strcmp(name + AJ_ID_HEX, AJ_SUFFIX) != 0)
		return -1;
	for (size_t i = 0; i < AJ_ID_HEX; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'f')))
			return -1;
	memcpy(id, name, AJ_ID_HEX);
	id[AJ_ID_HEX] = '\0';
	return 0;
}

static int take_orphan(const char *db_path, const char *id,
		       ajournal_orphan_fn fn, void *ud)
{
	char path[AJ_PATH_MAX];
	unsigned char *data = NULL;
	struct stat sb;
	size_t len = 0;
	int fd, kept = 1;

	if (journal_path(path, db_path, id, AJ_SUFFIX) != 0)
		return 1;
	/* Not blocking on a FIFO planted under a journal's name; anything
	 * but a regular file is not a journal of ours and is passed over. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 0 : 1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return 0;
	}
	/* A live handle holds its lock: not an orphan. Once locked, a file
	 * that another handle took in meanwhile is gone from the folder. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &sb) != 0 ||
	    sb.st_nlink == 0) {
		close(fd);
		return 0;
	}
	data = read_all(fd, &len);
	if (data != NULL && fn(ud, id, data, len) == 0 && unlink(path) == 0)
		kept = 0;
	free(data);
	close(fd);
	return kept;
}

int ajournal_orphans(const char *db_path, ajournal_orphan_fn fn, void *ud)
{
	char dir[AJ_PATH_MAX], id[AJ_ID_HEX + 1];
	const char *slash = strrchr(db_path, '/');
	const char *base = slash == NULL ? db_path : slash + 1;
	struct dirent *de;
	DIR *d;
	int kept = 0;

	if (slash == NULL) {
		snprintf(dir, sizeof dir, ".");
	} else {
		size_t n = (size_t)(slash - db_path);
		if (n >= sizeof dir)
			return -1;
		memcpy(dir, db_path, n);
		dir[n == 0 ? 1 : n] = '\0';
		if (n == 0)
			dir[0] = '/';
	}
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (orphan_id(de->d_name, base, id) == 0)
			kept += take_orphan(db_path, id, fn, ud);
	closedir(d);
	return kept;
}
