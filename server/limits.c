/*
 * limits.c: the failed-authentication rate limit per client address and the
 * idempotency keys of creating calls. Both live in memory only, in tables of
 * fixed size: a flood of addresses or keys evicts the oldest entries and
 * never grows the process.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- failed authentications ---------------------------------------------- */

#define RL_SLOTS 1024

struct rl_slot {
	char addr[52]; /* the bucket's letter, ':', the address */
	unsigned fails;
	time_t start;	      /* of the counting window */
	time_t blocked_until; /* 0 when not blocked */
};

static struct rl_slot rl[RL_SLOTS];
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned rl_max = 10, rl_window = 60;

void srv_rl_init(unsigned max, unsigned window)
{
	rl_max = max ? max : 1;
	rl_window = window ? window : 1;
}

/* Staff tokens and self-service secrets are counted apart: anonymous
 * guesses at links must never lock staff out (behind a proxy all clients
 * share one address). */
static void rl_key(char out[52], enum srv_rl_bucket b, const char *addr)
{
	snprintf(out, 52, "%c:%.48s", b == SRV_RL_SELF ? 's' : 'a', addr);
}

static size_t rl_hash(const char *addr)
{
	size_t h = 5381;

	while (*addr)
		h = h * 33u + (unsigned char)*addr++;
	return h % RL_SLOTS;
}

unsigned srv_rl_blocked(const char *who, enum srv_rl_bucket b)
{
	char addr[52];
	struct rl_slot *s;
	time_t t = now_s();
	unsigned wait = 0;

	rl_key(addr, b, who);
	s = &rl[rl_hash(addr)];
	pthread_mutex_lock(&rl_mu);
	if (strcmp(s->addr, addr) == 0 && s->blocked_until > t)
		wait = (unsigned)(s->blocked_until - t);
	pthread_mutex_unlock(&rl_mu);
	return wait;
}

void srv_rl_fail(const char *who, enum srv_rl_bucket b)
{
	char addr[52];
	struct rl_slot *s;
	time_t t = now_s();

	rl_key(addr, b, who);
	s = &rl[rl_hash(addr)];
	pthread_mutex_lock(&rl_mu);
	/* One slot per hash: another address takes it over, so a flood of
	 * addresses costs no memory (and at worst forgets some counts). */
	if (strcmp(s->addr, addr) != 0 || t - s->start >= (time_t)rl_window) {
		if (strcmp(s->addr, addr) != 0 || s->blocked_until <= t) {
			snprintf(s->addr, sizeof s->addr, "%s", addr);
			s->fails = 0;
			s->start = t;
			s->blocked_until = 0;
		}
	}
	if (++s->fails >= rl_max)
		s->blocked_until = t + (time_t)rl_window;
	pthread_mutex_unlock(&rl_mu);
}

/* ---- idempotency keys ---------------------------------------------------- */

struct idem {
	int used;
	int done;
	char actor[64];
	char key[129];
	char route[64];
	unsigned char digest[32];
	time_t at;
	unsigned status;
	char *body; /* the answer ({"id": ...}); no personal data */
	size_t len;
	char location[160];
};

static struct idem *idem;
static size_t idem_cap, idem_live;
static unsigned idem_ttl = 86400;
static pthread_mutex_t idem_mu = PTHREAD_MUTEX_INITIALIZER;

void srv_idem_init(size_t cap, unsigned ttl_seconds)
{
	idem_cap = cap ? cap * 2 : 2;
	idem = calloc(idem_cap, sizeof *idem);
	if (idem == NULL)
		idem_cap = 0;
	idem_ttl = ttl_seconds ? ttl_seconds : 1;
}

void srv_idem_free(void)
{
	size_t i;

	for (i = 0; i < idem_cap; i++)
		free(idem[i].body);
	free(idem);
	idem = NULL;
	idem_cap = idem_live = 0;
}

size_t srv_idem_count(void)
{
	size_t n;

	pthread_mutex_lock(&idem_mu);
	n = idem_live;
	pthread_mutex_unlock(&idem_mu);
	return n;
}

static size_t idem_hash(const char *actor, const char *key)
{
	unsigned char h[8];
	crypto_generichash_state st;
	size_t v = 0;
	int i;

	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)actor,
				  strlen(actor) + 1);
	crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
	crypto_generichash_final(&st, h, sizeof h);
	for (i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return v % idem_cap;
}

static void idem_drop(struct idem *e)
{
	free(e->body);
	memset(e, 0, sizeof *e);
	idem_live--;
}

/* The slot of (actor, key), or NULL; expired entries on the way go. */
static struct idem *idem_find(const char *actor, const char *key,
			      size_t *free_slot)
{
	size_t h = idem_hash(actor, key), i, k;
	time_t t = now_s();

	*free_slot = SIZE_MAX;
	for (k = 0; k < idem_cap; k++) {
		struct idem *e = &idem[(h + k) % idem_cap];
		i = (h + k) % idem_cap;
		if (e->used && e->done && t - e->at >= (time_t)idem_ttl)
			idem_drop(e);
		if (!e->used) {
			if (*free_slot == SIZE_MAX)
				*free_slot = i;
			/* linear probing without tombstones: a free slot
			 * ends the run only if nothing was dropped; keep
			 * looking a few more to be safe */
			if (k > 64)
				break;
			continue;
		}
		if (strcmp(e->actor, actor) == 0 && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/* Frees room when the table is full: the oldest finished entry goes. */
static void idem_evict(void)
{
	size_t i, oldest = SIZE_MAX;

	for (i = 0; i < idem_cap; i++)
		if (idem[i].used && idem[i].done &&
		    (oldest == SIZE_MAX || idem[i].at < idem[oldest].at))
			oldest = i;
	if (oldest != SIZE_MAX)
		idem_drop(&idem[oldest]);
}

int srv_idem_begin(const char *actor, const char *key, const char *route,
		   const unsigned char digest[32], srv_resp *r)
{
	struct idem *e;
	size_t slot;
	int rc;

	if (idem_cap == 0)
		return 0;
	pthread_mutex_lock(&idem_mu);
	e = idem_find(actor, key, &slot);
	if (e != NULL) {
		if (strcmp(e->route, route) != 0 ||
		    memcmp(e->digest, digest, 32) != 0) {
			rc = 3;
		} else if (!e->done) {
			rc = 2;
		} else {
			rc = 1;
			r->status = e->status;
			r->body = malloc(e->len + 1);
			if (r->body != NULL) {
				memcpy(r->body, e->body, e->len + 1);
				r->len = e->len;
			}
			r->ctype = "application/json";
			memcpy(r->location, e->location, sizeof r->location);
		}
		goto out;
	}
	if (idem_live >= idem_cap / 2) {
		idem_evict();
		e = idem_find(actor, key, &slot);
	}
	rc = 0;
	if (slot == SIZE_MAX || idem_live >= idem_cap / 2)
		goto out; /* every entry in progress: not remembered */
	e = &idem[slot];
	e->used = 1;
	snprintf(e->actor, sizeof e->actor, "%s", actor);
	snprintf(e->key, sizeof e->key, "%s", key);
	snprintf(e->route, sizeof e->route, "%s", route);
	memcpy(e->digest, digest, 32);
	e->at = now_s();
	idem_live++;
out:
	pthread_mutex_unlock(&idem_mu);
	return rc;
}

void srv_idem_finish(const char *actor, const char *key, const srv_resp *r)
{
	struct idem *e;
	size_t slot;

	pthread_mutex_lock(&idem_mu);
	e = idem_cap ? idem_find(actor, key, &slot) : NULL;
	if (e != NULL && !e->done) {
		/* Only an answer of success is kept: a refused or failed
		 * call may be tried again with the same key. */
		if (r->status >= 200 && r->status < 300 && r->body != NULL &&
		    !r->secret && (e->body = malloc(r->len + 1)) != NULL) {
			memcpy(e->body, r->body, r->len);
			e->body[r->len] = '\0';
			e->len = r->len;
			e->status = r->status;
			memcpy(e->location, r->location, sizeof e->location);
			e->done = 1;
			e->at = now_s();
		} else {
			idem_drop(e);
		}
	}
	pthread_mutex_unlock(&idem_mu);
}

void srv_idem_abort(const char *actor, const char *key)
{
	struct idem *e;
	size_t slot;

	pthread_mutex_lock(&idem_mu);
	e = idem_cap ? idem_find(actor, key, &slot) : NULL;
	if (e != NULL && !e->done)
		idem_drop(e);
	pthread_mutex_unlock(&idem_mu);
}
