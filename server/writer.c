/*
 * writer.c: the writer stage of group commit. Write requests (routes with
 * R_GROUP) are not run on the worker that read them: the worker suspends
 * the connection and queues the request here. One thread takes whatever is
 * queued, runs the requests one after another on its own register handle
 * inside one group (rk_register_group_begin: each write in a savepoint),
 * commits the group once (one synced commit for all of them), and only then
 * lets the requests answer. A failed group commit turns every success of
 * the group into an error: nothing answers "created" that is not durable.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "http.h"

/* A group holds the register's write lock while its requests run: bounded
 * so that other writers (and read-audit flushes) wait little. */
#define GROUP_MAX 128

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static srv_job *head, *tail;
static size_t queued;
static atomic_int running, stopping;
static pthread_t thread;
static rk_register *wreg;
static atomic_ullong n_groups, n_writes, n_failed_groups;

static void run_group(srv_job *batch, size_t n)
{
	srv_job *j, *next;
	rk_status st;

	st = rk_register_group_begin(wreg);
	if (st != RK_OK) {
		/* No group, no writes: each request answers the error. */
		srv_log("error", rk_errmsg(wreg));
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			j->done(j, wreg, st);
		}
		atomic_fetch_add(&n_failed_groups, 1);
		return;
	}
	for (j = batch; j != NULL; j = j->next)
		j->run(j, wreg);
	st = rk_register_group_commit(wreg);
	if (st != RK_OK) {
		srv_log("error", rk_errmsg(wreg));
		atomic_fetch_add(&n_failed_groups, 1);
	}
	atomic_fetch_add(&n_groups, 1);
	atomic_fetch_add(&n_writes, (unsigned long long)n);
	/* done() may free the job (the connection resumes and completes). */
	for (j = batch; j != NULL; j = next) {
		next = j->next;
		j->done(j, wreg, st);
	}
}

/* The log starts anew only when a write begins with all of it copied
 * back. The checkpointer copies on its own thread while groups go on
 * appending, so under a steady stream of writes it never was: the log
 * grew without bound (hundreds of MiB a minute) and every commit
 * extended the file. After each of the checkpointer's copies the writer
 * copies the little that came in meanwhile, between two groups where no
 * write of this server adds to the log, and the next group starts the
 * log anew. The large copy stays off the writer's thread. */
static atomic_int catch_up;

void srv_writer_checkpointed(void)
{
	atomic_store(&catch_up, 1);
}

static void writer_catch_up(void)
{
	if (!atomic_exchange(&catch_up, 0))
		return;
	/* owed again: this group's commit found the log still past its
	 * size */
	if (rk_register_checkpoint_owed(wreg, NULL) != RK_OK)
		srv_log("error", rk_errmsg(wreg));
}

static void *writer_main(void *arg)
{
	(void)arg;
	for (;;) {
		srv_job *batch, *last;
		size_t n = 0;

		pthread_mutex_lock(&mu);
		while (head == NULL && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (head == NULL && stopping) {
			pthread_mutex_unlock(&mu);
			break;
		}
		/* Whatever came in while the last group ran, up to a bound. */
		batch = last = head;
		n = 1;
		while (n < GROUP_MAX && last->next != NULL) {
			last = last->next;
			n++;
		}
		head = last->next;
		if (head == NULL)
			tail = NULL;
		last->next = NULL;
		queued -= n;
		pthread_mutex_unlock(&mu);
		run_group(batch, n);
		writer_catch_up();
		/* Between two groups the register's write lock is free for a
		 * moment: long enough for the pool's handles to commit their
		 * read audit entries, which would starve behind a writer that
		 * begins its next group at once. A waiting handle looks again
		 * every 100 us at first (the store's busy handler), so 300 us
		 * let it in; a whole millisecond was a third of a group's time
		 * under POSTs alone. */
		if (n > 1) {
			struct timespec gap = {0, 300000};
			nanosleep(&gap, NULL);
		}
	}
	return NULL;
}

int srv_writer_start(rk_register *reg)
{
	wreg = reg;
	atomic_store(&stopping, 0);
	if (pthread_create(&thread, NULL, writer_main, NULL) != 0)
		return -1;
	atomic_store(&running, 1);
	return 0;
}

int srv_writer_submit(srv_job *j)
{
	pthread_mutex_lock(&mu);
	if (!running || stopping) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	j->next = NULL;
	if (tail != NULL)
		tail->next = j;
	else
		head = j;
	tail = j;
	queued++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

void srv_writer_stop(void)
{
	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		return;
	}
	/* The queue is drained first: queued requests still answer. */
	atomic_store(&stopping, 1);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	atomic_store(&running, 0);
}

int srv_writer_on(void)
{
	return atomic_load(&running) && !atomic_load(&stopping);
}

void srv_writer_stats(uint64_t *groups, uint64_t *writes, uint64_t *failed,
		      size_t *depth)
{
	*groups = atomic_load(&n_groups);
	*writes = atomic_load(&n_writes);
	*failed = atomic_load(&n_failed_groups);
	pthread_mutex_lock(&mu);
	*depth = queued;
	pthread_mutex_unlock(&mu);
}
