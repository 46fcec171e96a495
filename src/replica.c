/*
 * replica.c: reads from a PostgreSQL streaming-replication standby
 * (rk_register_set_read_replica). The store decides per read transaction
 * where it runs (store_pg.c): every write and every audit entry goes to
 * the primary, and a read goes to the standby only when the standby has
 * replayed this handle's own writes. What a read on the standby may miss
 * is the last moments of other handles' writes (docs/postgresql.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "register.h"
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
