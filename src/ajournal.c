/*
 * ajournal.c: the audit journal files beside the database (see ajournal.h).
 * A journal is written with one write(2) per record and not fsynced: a
 * record survives the process being killed, like a commit of the database
 * itself under synchronous=NORMAL, and a power cut can cost at most the
 * records that the database would lose too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ajournal.h"
#include "crypto.h"

#define AJ_PATH_MAX 4096
#define AJ_SUFFIX   ".j"
#define AJ_INFIX    "-audit-"
/* An orphan larger than this is kept and left for an operator: a journal
 * holds one batch of entries, or one bulk transaction's. */
#define AJ_ORPHAN_MAX ((size_t)256 << 20)

struct ajournal {
	int fd;
	off_t size;
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
	 * locked, so no other handle can take a new journal for a dead
	 * one's. */
	j->fd = open(tmp,
		     O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
			     O_NOFOLLOW,
		     0600);
	if (j->fd < 0 || flock(j->fd, LOCK_EX | LOCK_NB) != 0 ||
	    rename(tmp, j->path) != 0) {
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
	ssize_t n;

	do
		n = write(j->fd, rec, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		j->size += (off_t)len;
		return 0;
	}
	if (n >= 0) {
		/* Out of space part-way: take the piece back off. */
		if (ftruncate(j->fd, j->size) != 0) {
			/* A torn tail is skipped by the reader. */
		}
		errno = ENOSPC;
	}
	return -1;
}

int ajournal_truncate(ajournal *j)
{
	if (j->size == 0)
		return 0;
	if (ftruncate(j->fd, 0) != 0)
		return -1;
	j->size = 0;
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
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : 1;
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
