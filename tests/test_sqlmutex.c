/*
 * test_sqlmutex.c: the mutexes the store gives SQLite (sqlmutex.c) exclude,
 * through SQLite's own mutex calls:
 * - SQLite takes them only before it initializes;
 * - a held fast mutex refuses another thread's try, and a thread that
 *   waits longer than the spin (it sleeps) gets it once it is left, not
 *   before;
 * - a recursive one is taken again by its holder and is free only when
 *   left as often;
 * - the static ones are the same mutex each time, with room for ones a
 *   newer SQLite names; an unknown kind is none;
 * - counters under a mutex, from several threads, add up;
 * - a database works on them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <sqlite3.h>

#include "sqlmutex.h"

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

struct probe {
	sqlite3_mutex *m;
	atomic_int state; /* 1: waiting, 2: got it */
	int try_rc;
};

static void *try_it(void *ud)
{
	struct probe *p = ud;

	p->try_rc = sqlite3_mutex_try(p->m);
	if (p->try_rc == SQLITE_OK)
		sqlite3_mutex_leave(p->m);
	return NULL;
}

static void *enter_it(void *ud)
{
	struct probe *p = ud;

	atomic_store(&p->state, 1);
	sqlite3_mutex_enter(p->m);
	atomic_store(&p->state, 2);
	sqlite3_mutex_leave(p->m);
	return NULL;
}

static int try_from_other(sqlite3_mutex *m)
{
	struct probe p = {m, 0, -1};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, try_it, &p), 0);
	pthread_join(t, NULL);
	return p.try_rc;
}

static void test_installed_before_init_only(void **state)
{
	(void)state;
	assert_int_equal(sqlmutex_install(), 0);
	assert_int_equal(sqlite3_initialize(), SQLITE_OK);
	/* too late now: SQLite keeps what it initialized with */
	assert_int_equal(sqlmutex_install(), -1);
}

static void test_fast_excludes(void **state)
{
	sqlite3_mutex *m = sqlite3_mutex_alloc(SQLITE_MUTEX_FAST);
	struct probe p = {m, 0, 0};
	pthread_t t;

	(void)state;
	assert_non_null(m);
	sqlite3_mutex_enter(m);
	assert_int_equal(try_from_other(m), SQLITE_BUSY);
	assert_int_equal(pthread_create(&t, NULL, enter_it, &p), 0);
	while (atomic_load(&p.state) == 0)
		nap_ms(1);
	/* far longer than the spin: the waiter sleeps, and must not have it */
	nap_ms(200);
	assert_int_equal(atomic_load(&p.state), 1);
	sqlite3_mutex_leave(m);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&p.state), 2);
	assert_int_equal(try_from_other(m), SQLITE_OK);
	sqlite3_mutex_free(m);
}

static void test_recursive(void **state)
{
	sqlite3_mutex *m = sqlite3_mutex_alloc(SQLITE_MUTEX_RECURSIVE);

	(void)state;
	assert_non_null(m);
	sqlite3_mutex_enter(m);
	assert_int_equal(sqlite3_mutex_try(m), SQLITE_OK);
	sqlite3_mutex_leave(m);
	assert_int_equal(try_from_other(m), SQLITE_BUSY);
	sqlite3_mutex_leave(m);
	assert_int_equal(try_from_other(m), SQLITE_OK);
	sqlite3_mutex_free(m);
}

static void test_statics(void **state)
{
	sqlite3_mutex *a = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS1);
	sqlite3_mutex *b = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS1);
	sqlite3_mutex *c = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_MAIN);

	(void)state;
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	sqlite3_mutex_enter(a);
	assert_int_equal(try_from_other(b), SQLITE_BUSY);
	assert_int_equal(try_from_other(c), SQLITE_OK);
	sqlite3_mutex_leave(a);
	/* freeing a static one leaves it usable */
	sqlite3_mutex_free(a);
	assert_int_equal(try_from_other(b), SQLITE_OK);
	/* one a newer SQLite may name is there too; far beyond, none */
	a = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS3 + 1);
	assert_non_null(a);
	assert_ptr_not_equal(a, b);
	assert_null(sqlite3_mutex_alloc(1000));
}

#define NTHREADS 4
#define NROUNDS	 200000

struct counter {
	sqlite3_mutex *m;
	long n; /* plain: only the mutex keeps the increments whole */
};

static void *count_up(void *ud)
{
	struct counter *c = ud;

	for (int i = 0; i < NROUNDS; i++) {
		sqlite3_mutex_enter(c->m);
		c->n++;
		sqlite3_mutex_leave(c->m);
	}
	return NULL;
}

static void test_counts_add_up(void **state)
{
	struct counter c = {sqlite3_mutex_alloc(SQLITE_MUTEX_FAST), 0};
	pthread_t t[NTHREADS];

	(void)state;
	assert_non_null(c.m);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_up, &c), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(c.n, (long)NTHREADS * NROUNDS);
	sqlite3_mutex_free(c.m);
}

static void test_database_works(void **state)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(sqlite3_open_v2(":memory:", &db,
					 SQLITE_OPEN_READWRITE |
						 SQLITE_OPEN_CREATE |
						 SQLITE_OPEN_FULLMUTEX,
					 NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE t(x);"
				      "INSERT INTO t VALUES (1), (2);",
				      NULL, NULL, &err),
			 SQLITE_OK);
	sqlite3_free(err);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: SQLite must not have initialized before it */
		cmocka_unit_test(test_installed_before_init_only),
		cmocka_unit_test(test_fast_excludes),
		cmocka_unit_test(test_recursive),
		cmocka_unit_test(test_statics),
		cmocka_unit_test(test_counts_add_up),
		cmocka_unit_test(test_database_works),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
