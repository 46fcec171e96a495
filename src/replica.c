/*
 * replica.c: reads from a PostgreSQL streaming-replication standby
 * (rk_register_set_read_replica). The store decides per read transaction
 * where it runs (store_pg.c): every write and every audit entry goes to
 * the primary, and a read goes to the standby only when the standby has
 * replayed this handle's own writes. What a read on the standby may miss
 * is the last moments of other handles' writes (docs/postgresql.md).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "register.h"
#include "store.h"
#include "rekisteri.h"

rk_status rk_register_set_read_replica(rk_register *r, const char *url)
{
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	/* The store swaps connections between transactions only. */
	if (r->bulk || r->group || r->in_write)
		return reg_fail(r, RK_EINVAL,
				"set the read replica outside a transaction");
	if (url != NULL && url[0] == '\0')
		url = NULL;
	if (r->st->vt->read_replica(r->st, url) != 0)
		return reg_fail(r, RK_EINVAL, "%s", r->st->vt->errmsg(r->st));
	return RK_OK;
}

int64_t rk_register_replica_reads(const rk_register *r)
{
	return r == NULL || r->st == NULL ? 0 : r->st->vt->replica_reads(r->st);
}

/* ---- read-your-writes across handles ----
 * Handles that share a floor (a server's pool and its writer) read on the
 * standby only what every one of them wrote: a write through one handle
 * is seen by a read through any other. The floor is one atomic number, so
 * the handles may live in different threads. */

struct rk_read_floor {
	store_floor f;
};

rk_status rk_read_floor_new(rk_read_floor **out)
{
	rk_read_floor *fl;

	if (out == NULL)
		return RK_EINVAL;
	*out = fl = calloc(1, sizeof *fl);
	if (fl == NULL)
		return RK_ESYS;
	atomic_init(&fl->f.pos, 0);
	atomic_init(&fl->f.lost, 0);
	atomic_init(&fl->f.settled, 0);
	return RK_OK;
}

void rk_read_floor_free(rk_read_floor *floor)
{
	free(floor);
}

uint64_t rk_read_floor_position(const rk_read_floor *floor)
{
	if (floor == NULL)
		return 0;
	if (atomic_load(&floor->f.lost) != atomic_load(&floor->f.settled))
		return UINT64_MAX;
	return atomic_load(&floor->f.pos);
}

rk_status rk_register_share_read_floor(rk_register *r, rk_read_floor *floor)
{
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	r->st->vt->read_floor(r->st, floor != NULL ? &floor->f : NULL);
	return RK_OK;
}

void rk_register_use_read_replica(rk_register *r, int on)
{
	if (r != NULL && r->st != NULL)
		r->st->vt->replica_use(r->st, on);
}

rk_status rk_register_set_replica_max_lag(rk_register *r, int64_t ms)
{
	if (r == NULL || r->st == NULL)
		return RK_EINVAL;
	if (ms < 0)
		return reg_fail(r, RK_EINVAL,
				"the replica's lag bound is 0 or more "
				"milliseconds");
	r->st->vt->replica_max_lag(r->st, ms);
	return RK_OK;
}
