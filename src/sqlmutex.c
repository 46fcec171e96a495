/*
 * sqlmutex.c: SQLite's mutexes, which spin for a bounded while before they
 * sleep.
 *
 * Every read transaction on a register in write-ahead-log mode takes the
 * mutex of the database's shared-memory index and, holding it, makes the
 * fcntl call that locks a read mark. With SQLite's own mutexes a server
 * worker that finds the other one holding it sleeps in the kernel at once;
 * the futex wait, the wake and the switch (often with an interrupt to the
 * other core) cost more than the wait itself. Here a thread tries again
 * for up to SPIN_NS first. Recursive mutexes are taken the same way.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "sqlmutex.h"

struct sqlite3_mutex {
	pthread_mutex_t m;
};

/* How long a thread spins before it sleeps. Measured under wrk on two
 * cores: of the waits for the index's mutex, three in four end within 5 us
 * and most of the rest within 20-50 us (the holder's lock call slowed,
 * its core taken for a while); a sleep and a wake cost more than that. */
#define SPIN_NS 50000
/* Room for more static mutexes than this SQLite's header names: a newer
 * library linked at run time may ask for one, and SQLite does not lock a
 * mutex it was given as NULL. */
#define NSTATIC 32
_Static_assert(SQLITE_MUTEX_STATIC_VFS3 - SQLITE_MUTEX_STATIC_MAIN < NSTATIC,
	       "static mutexes");

static sqlite3_mutex statics[NSTATIC];
static pthread_once_t statics_once = PTHREAD_ONCE_INIT;
static int statics_ok;

static int init_kind(pthread_mutex_t *m, int kind)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	rc = pthread_mutexattr_settype(&a, kind);
	if (rc == 0)
		rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return rc == 0 ? 0 : -1;
}

static void statics_init(void)
{
	for (size_t i = 0; i < NSTATIC; i++)
		if (init_kind(&statics[i].m, PTHREAD_MUTEX_NORMAL) != 0)
			return;
	statics_ok = 1;
}

static int is_static(const sqlite3_mutex *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)&statics[0];

	return a >= lo && a < lo + sizeof statics;
}

static int mx_init(void)
{
	/* once only: SQLite may initialize again after a shutdown, and the
	 * static mutexes must not be made anew under a holder */
	(void)pthread_once(&statics_once, statics_init);
	return statics_ok ? SQLITE_OK : SQLITE_NOMEM;
}

static int mx_end(void)
{
	return SQLITE_OK;
}

static sqlite3_mutex *mx_alloc(int id)
{
	sqlite3_mutex *p;

	if (id >= SQLITE_MUTEX_STATIC_MAIN) {
		size_t i = (size_t)(id - SQLITE_MUTEX_STATIC_MAIN);
		return i < NSTATIC ? &statics[i] : NULL;
	}
	if (id != SQLITE_MUTEX_FAST && id != SQLITE_MUTEX_RECURSIVE)
		return NULL;
	p = malloc(sizeof *p);
	if (p == NULL)
		return NULL;
	if (init_kind(&p->m, id == SQLITE_MUTEX_RECURSIVE
				     ? PTHREAD_MUTEX_RECURSIVE
				     : PTHREAD_MUTEX_NORMAL) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static void mx_free(sqlite3_mutex *p)
{
	if (p == NULL || is_static(p))
		return;
	pthread_mutex_destroy(&p->m);
	free(p);
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void mx_enter(sqlite3_mutex *p)
{
	int64_t until;

	if (pthread_mutex_trylock(&p->m) == 0)
		return;
	until = now_ns() + SPIN_NS;
	do {
		for (int i = 0; i < 32; i++) {
			relax();
			if (pthread_mutex_trylock(&p->m) == 0)
				return;
		}
	} while (now_ns() < until);
	pthread_mutex_lock(&p->m);
}

static int mx_try(sqlite3_mutex *p)
{
	return pthread_mutex_trylock(&p->m) == 0 ? SQLITE_OK : SQLITE_BUSY;
}

static void mx_leave(sqlite3_mutex *p)
{
	pthread_mutex_unlock(&p->m);
}

/* Only a debug build of SQLite asks, inside assertions: true, as SQLite's
 * documentation asks of an implementation that cannot tell. */
static int mx_held(sqlite3_mutex *p)
{
	(void)p;
	return 1;
}

static const sqlite3_mutex_methods methods = {
	mx_init, mx_end,   mx_alloc, mx_free, mx_enter,
	mx_try,	 mx_leave, mx_held,  mx_held,
};

int sqlmutex_install(void)
{
	return sqlite3_config(SQLITE_CONFIG_MUTEX, &methods) == SQLITE_OK ? 0
									  : -1;
}
