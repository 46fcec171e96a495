/*
 * sqlvfs.c: the SQLite store's file layer: the default one, with the frames
 * a transaction adds to the write-ahead log written in one call.
 *
 * SQLite writes each frame of the log with two write calls, its 24-byte
 * header and then its page, so a commit of 14 pages makes 28 system calls,
 * each of which costs more than copying its bytes. This shim over the
 * default VFS ("unix") copies a log file's frames into a buffer as they
 * come and writes them with one call when the page of a commit frame
 * arrives (its header holds the database's size, other frames' a zero),
 * when the buffer is full, and before anything else is done with the file
 * (read, sync, truncate, size, file control). Other files pass straight to
 * the default VFS, but for the database file's shared-memory locks.
 *
 * Why that is safe:
 * - A frame is seen by readers (other connections and processes) only once
 *   the writer has published it in the shared-memory index, which SQLite
 *   does after the commit frame's write has returned; by then every frame
 *   of the transaction is in the file.
 * - The file's bytes are those SQLite asked for, in the order it asked: a
 *   write elsewhere than where the buffer ends writes the buffer first.
 * - Frames of a transaction that ends without a commit (rolled back, after
 *   its pages spilled to the log) must not reach the file later, over
 *   frames another writer has put there since: the buffer is dropped when
 *   its writer lets go of the log's write lock. For that, a log file is
 *   tied to the database file whose connection holds that lock; when no
 *   single one is found, a frame is written as soon as its page arrives
 *   (header and page still in one call).
 * - After a commit frame, until the writer lets go of the lock or writes a
 *   page, a frame header is written at once, never kept: SQLite then
 *   writes only headers it rewrites in place (a transaction that spilled
 *   pages to the log and changed one of them again overwrote that frame's
 *   page, so the checksums from there on are recomputed), whose page never
 *   follows, and pad frames. Kept, such a header would wait for the next
 *   use of the file or be dropped with the lock, and a crash would leave
 *   the old checksum in the log: recovery stops at the first bad checksum
 *   and loses that commit and every later one.
 * - Frames kept back that cannot be written out before another use of the
 *   log (a full disk) fail that use and every later one until the writer
 *   lets go, with an I/O error: SQLite rolls the transaction back, as when
 *   a frame's own write fails (see settle).
 * - A crash loses what a crash between SQLite's own writes would: frames
 *   of a transaction that did not commit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlvfs.h"

#define VFS_NAME  "rk-walbatch"
#define FRAME_HDR 24 /* a log frame's header */
/* The default VFS takes at most 128 KiB less one byte a write (it masks
 * the length to 17 bits): the buffer is written out before it grows past. */
#define BUF_MAX (128 * 1024 - 1)
#define BUF_MIN (32 * 1024)
/* SQLite's shared-memory lock slot of the log's writer (WAL_WRITE_LOCK) */
#define WRITE_LOCK 0

typedef struct shim_file shim_file;

/* A database or log file: the default VFS's file follows this header in
 * the same allocation (szOsFile covers both). */
struct shim_file {
	sqlite3_file base; /* its methods: db_methods or wal_methods */
	sqlite3_file *real;
	const char *name; /* SQLite keeps it valid until the close */
	/* a database file (in the list of them, under list_mu) */
	int writer;	/* holds the log's write lock */
	shim_file *wal; /* the log file tied to it */
	shim_file *next;
	/* a log file */
	shim_file *owner; /* the database file whose writer it serves */
	unsigned char *buf;
	size_t len, cap;
	size_t pgsz;	   /* the page size, once a page was seen */
	sqlite3_int64 off; /* the file offset of buf[0] */
	int want_page;	   /* the last thing buffered is a frame's header */
	int commit;	   /* ... and that frame commits a transaction */
	int committed;	   /* a commit frame went out, no page since */
	int hdr_commit;	   /* the last write: a commit frame's header */
	int lost; /* buffered frames could not be written (see settle) */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static shim_file *db_list;

/* The header rounded up to 8 bytes, so that the default VFS's file after
 * it is aligned. */
#define SHIM_HDR_SIZE ((sizeof(shim_file) + 7) & ~(size_t)7)

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((shim_file *)f)->real;
}

/* ---- the log's buffer ---------------------------------------------------
 */

static void drop(shim_file *w)
{
	w->len = 0;
	w->want_page = 0;
	w->commit = 0;
}

static int flush(shim_file *w)
{
	int rc = SQLITE_OK;

	if (w->len > 0)
		rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len,
					       w->off);
	drop(w);
	return rc;
}

/* Room for n more bytes, the buffer grown up to BUF_MAX; 0 when there is
 * none (the caller writes out what is buffered first). */
static int room(shim_file *w, size_t n)
{
	size_t cap;
	unsigned char *b;

	if (w->len + n <= w->cap)
		return 1;
	if (w->len + n > BUF_MAX)
		return 0;
	cap = w->cap ? w->cap : BUF_MIN;
	while (cap < w->len + n)
		cap *= 2;
	if (cap > BUF_MAX)
		cap = BUF_MAX;
	b = realloc(w->buf, cap);
	if (b == NULL)
		return 0;
	w->buf = b;
	w->cap = cap;
	return 1;
}

/* Writes out the buffer before another use of the log. If that fails (a
 * full disk), frames SQLite was told were written, by calls that returned,
 * are lost, and SQLite must not go on with the transaction: every use of
 * the log fails until the writer lets go of its lock (the rollback), and
 * with an I/O error, which makes SQLite roll the whole transaction back
 * where it takes a full disk in a read as the statement's only, and then
 * commits on top of the lost frames. */
static int settle(shim_file *w)
{
	if (!w->lost && flush(w) != SQLITE_OK)
		w->lost = 1;
	return w->lost ? SQLITE_IOERR_WRITE : SQLITE_OK;
}

/* Whether log is the log of database db: db's name and "-wal". */
static int log_of(const char *log, const char *db)
{
	size_t n = strlen(db);

	return strncmp(log, db, n) == 0 && strcmp(log + n, "-wal") == 0;
}

/* Ties the log to the one database file of its name whose connection
 * holds the write lock (the writer writing these frames); 0 when there is
 * not exactly one. */
static int tie(shim_file *w)
{
	shim_file *d, *found = NULL;
	int n = 0;

	if (w->owner != NULL)
		return 1;
	pthread_mutex_lock(&list_mu);
	for (d = db_list; d != NULL; d = d->next)
		if (d->writer && d->name != NULL && w->name != NULL &&
		    log_of(w->name, d->name)) {
			found = d;
			n++;
		}
	if (n == 1 && found->wal == NULL) {
		found->wal = w;
		w->owner = found;
	}
	pthread_mutex_unlock(&list_mu);
	return w->owner != NULL;
}

/* ---- log file methods ----------------------------------------------------
 */

static int w_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 ofst)
{
	shim_file *w = (shim_file *)f;
	const unsigned char *b = p;
	size_t n = (size_t)amt, need;
	int rc;

	if (w->lost)
		return SQLITE_IOERR_WRITE;
	/* A page after a commit frame's header, buffered or not, starts the
	 * span after a commit (see the top of the file); any other page or
	 * log header ends it. */
	if (amt != FRAME_HDR)
		w->committed = w->hdr_commit;
	/* bytes 4-7: the database's size in pages after a commit, zero in
	 * other frames */
	w->hdr_commit = amt == FRAME_HDR && (b[4] | b[5] | b[6] | b[7]) != 0;
	if (amt > 0 && w->want_page && ofst == w->off + (sqlite3_int64)w->len &&
	    room(w, n)) {
		/* the page after its header */
		memcpy(w->buf + w->len, b, n);
		w->len += n;
		w->want_page = 0;
		w->pgsz = n;
		/* A frame that does not commit waits for the next only while
		 * the buffer is tied to its writer's lock; a commit ties it
		 * too, so that letting go of the lock ends the span above. */
		if (!tie(w) || w->commit)
			return flush(w);
		return SQLITE_OK;
	}
	/* after a commit frame: headers rewritten in place, written at once
	 * (see the top of the file) */
	if (amt == FRAME_HDR && !w->want_page && !w->committed &&
	    (w->len == 0 || ofst == w->off + (sqlite3_int64)w->len)) {
		/* room for the header and its page */
		need = n + (w->pgsz ? w->pgsz : 65536);
		if (!room(w, need)) {
			rc = flush(w);
			if (rc != SQLITE_OK)
				return rc;
			if (!room(w, need))
				return w->real->pMethods->xWrite(w->real, p,
								 amt, ofst);
		}
		if (w->len == 0)
			w->off = ofst;
		memcpy(w->buf + w->len, b, n);
		w->len += n;
		w->want_page = 1;
		w->commit = w->hdr_commit;
		return SQLITE_OK;
	}
	rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	return w->real->pMethods->xWrite(w->real, p, amt, ofst);
}

static int w_close(sqlite3_file *f)
{
	shim_file *w = (shim_file *)f;
	int rc;

	/* What is left belongs to a transaction that did not commit. */
	drop(w);
	pthread_mutex_lock(&list_mu);
	if (w->owner != NULL)
		w->owner->wal = NULL;
	w->owner = NULL;
	pthread_mutex_unlock(&list_mu);
	rc = w->real->pMethods->xClose(w->real);
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
	return rc;
}

static int w_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 ofst)
{
	int rc = settle((shim_file *)f);

	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xRead(real_of(f), p, amt, ofst);
}

static int w_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = settle((shim_file *)f);

	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int w_sync(sqlite3_file *f, int flags)
{
	int rc = settle((shim_file *)f);

	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int w_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = settle((shim_file *)f);

	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int w_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = settle((shim_file *)f);

	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int w_fetch(sqlite3_file *f, sqlite3_int64 ofst, int amt, void **pp)
{
	int rc = settle((shim_file *)f);

	*pp = NULL;
	if (rc != SQLITE_OK)
		return rc;
	return real_of(f)->pMethods->xFetch(real_of(f), ofst, amt, pp);
}

/* ---- methods both kinds pass on ------------------------------------------
 */

static int s_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 ofst)
{
	return real_of(f)->pMethods->xRead(real_of(f), p, amt, ofst);
}

static int s_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 ofst)
{
	return real_of(f)->pMethods->xWrite(real_of(f), p, amt, ofst);
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int s_sync(sqlite3_file *f, int flags)
{
	return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int s_lock(sqlite3_file *f, int level)
{
	return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int s_unlock(sqlite3_file *f, int level)
{
	return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int s_check_reserved(sqlite3_file *f, int *out)
{
	return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int s_file_control(sqlite3_file *f, int op, void *arg)
{
	return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int s_sector_size(sqlite3_file *f)
{
	return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int s_device_characteristics(sqlite3_file *f)
{
	return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int s_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
		     void volatile **pp)
{
	return real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}

static void s_shm_barrier(sqlite3_file *f)
{
	real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int s_fetch(sqlite3_file *f, sqlite3_int64 ofst, int amt, void **pp)
{
	return real_of(f)->pMethods->xFetch(real_of(f), ofst, amt, pp);
}

static int s_unfetch(sqlite3_file *f, sqlite3_int64 ofst, void *p)
{
	return real_of(f)->pMethods->xUnfetch(real_of(f), ofst, p);
}

static int s_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	return real_of(f)->pMethods->xShmLock(real_of(f), ofst, n, flags);
}

static int s_shm_unmap(sqlite3_file *f, int del)
{
	return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

/* ---- database file methods -----------------------------------------------
 */

/* The writer let go of the log: frames still buffered belong to a
 * transaction that ended without a commit, and go. */
static void let_go(shim_file *d)
{
	pthread_mutex_lock(&list_mu);
	d->writer = 0;
	if (d->wal != NULL) {
		drop(d->wal);
		d->wal->committed = 0;
		d->wal->lost = 0;
		d->wal->owner = NULL;
		d->wal = NULL;
	}
	pthread_mutex_unlock(&list_mu);
}

static int d_shm_lock(sqlite3_file *f, int ofst, int n, int flags)
{
	shim_file *d = (shim_file *)f;
	int write_slot = ofst <= WRITE_LOCK && ofst + n > WRITE_LOCK;
	int rc;

	if (write_slot && (flags & SQLITE_SHM_UNLOCK))
		let_go(d);
	rc = s_shm_lock(f, ofst, n, flags);
	if (rc == SQLITE_OK && write_slot && (flags & SQLITE_SHM_LOCK) &&
	    (flags & SQLITE_SHM_EXCLUSIVE)) {
		pthread_mutex_lock(&list_mu);
		d->writer = 1;
		pthread_mutex_unlock(&list_mu);
	}
	return rc;
}

static int d_shm_unmap(sqlite3_file *f, int del)
{
	let_go((shim_file *)f); /* unmapping drops the locks */
	return s_shm_unmap(f, del);
}

static int d_close(sqlite3_file *f)
{
	shim_file *d = (shim_file *)f, **pp;

	let_go(d);
	pthread_mutex_lock(&list_mu);
	for (pp = &db_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	pthread_mutex_unlock(&list_mu);
	return d->real->pMethods->xClose(d->real);
}

/* Version 3 method tables; a default VFS whose files have fewer methods is
 * not wrapped (s_open). */
static const sqlite3_io_methods wal_methods = {
	3,
	w_close,
	w_read,
	w_write,
	w_truncate,
	w_sync,
	w_file_size,
	s_lock,
	s_unlock,
	s_check_reserved,
	w_file_control,
	s_sector_size,
	s_device_characteristics,
	s_shm_map,
	s_shm_lock,
	s_shm_barrier,
	s_shm_unmap,
	w_fetch,
	s_unfetch,
};

static const sqlite3_io_methods db_methods = {
	3,
	d_close,
	s_read,
	s_write,
	s_truncate,
	s_sync,
	s_file_size,
	s_lock,
	s_unlock,
	s_check_reserved,
	s_file_control,
	s_sector_size,
	s_device_characteristics,
	s_shm_map,
	d_shm_lock,
	s_shm_barrier,
	d_shm_unmap,
	s_fetch,
	s_unfetch,
};

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		  int flags, int *out_flags)
{
	shim_file *s = (shim_file *)f;
	int wal = (flags & SQLITE_OPEN_WAL) != 0, rc;

	(void)vfs;
	if (!wal && !(flags & SQLITE_OPEN_MAIN_DB)) {
		/* journals, temporary files: the default VFS's file in
		 * place, its own methods */
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	}
	memset(s, 0, sizeof *s);
	s->real = (sqlite3_file *)(void *)((unsigned char *)f + SHIM_HDR_SIZE);
	s->name = name;
	rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out_flags);
	if (s->real->pMethods == NULL) {
		f->pMethods = NULL; /* nothing to close */
		return rc;
	}
	if (s->real->pMethods->iVersion < 3) {
		/* methods this shim does not know: the file in place */
		s->real->pMethods->xClose(s->real);
		return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
	}
	if (wal) {
		f->pMethods = &wal_methods;
		return rc;
	}
	f->pMethods = &db_methods;
	pthread_mutex_lock(&list_mu);
	s->next = db_list;
	db_list = s;
	pthread_mutex_unlock(&list_mu);
	return rc;
}

const char *sqlvfs_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL || real_vfs->szOsFile < 0)
		return NULL;
	/* Every other method is the default VFS's own, called with this
	 * struct, whose fields (its app data, path length) are the same. */
	shim_vfs = *real_vfs;
	shim_vfs.pNext = NULL;
	shim_vfs.zName = VFS_NAME;
	shim_vfs.szOsFile = (int)SHIM_HDR_SIZE + real_vfs->szOsFile;
	shim_vfs.xOpen = s_open;
	if (sqlite3_vfs_register(&shim_vfs, 0) != SQLITE_OK)
		return NULL;
	return VFS_NAME;
}
