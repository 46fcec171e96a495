/*
 * log.c: the access log (JSON lines on standard error: request id, method,
 * route template, status, duration; never a URL, a body, a token or an
 * address) and the Prometheus metrics.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

/* Statuses counted per route; others count under "other". */
static const unsigned statuses[] = {200, 201, 204, 400, 401, 403,
				    404, 405, 409, 412, 413, 415,
				    422, 429, 431, 499, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1)
/* Latency buckets in seconds. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,	 0.1,	0.25,	0.5,   1,    2.5};
#define NBUCKET	   (sizeof buckets / sizeof buckets[0])
#define NROUTE_MAX 64

static atomic_ullong counts[NROUTE_MAX + 1][NSTATUS];
static atomic_ullong hist[NBUCKET + 1];
static atomic_ullong hist_count;
/* the sum in microseconds, so that it stays an integer */
static atomic_ullong hist_sum_us;

void srv_metrics_init(void)
{
	memset(counts, 0, sizeof counts);
	memset(hist, 0, sizeof hist);
}

void srv_metrics_observe(size_t route, unsigned status, double seconds)
{
	size_t s, b;

	if (route > NROUTE_MAX)
		route = NROUTE_MAX;
	for (s = 0; s + 1 < NSTATUS && statuses[s] != status; s++)
		;
	atomic_fetch_add(&counts[route][s], 1);
	for (b = 0; b < NBUCKET && seconds > buckets[b]; b++)
		;
	atomic_fetch_add(&hist[b], 1);
	atomic_fetch_add(&hist_count, 1);
	atomic_fetch_add(&hist_sum_us, (unsigned long long)(seconds * 1e6));
}

struct buf {
	char *s;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = b->cap * 2 + (size_t)n;
			char *ns = realloc(b->s, ncap);
			if (ns == NULL) {
				b->oom = 1;
				return;
			}
			b->s = ns;
			b->cap = ncap;
		}
	}
}

static void replica_text(struct buf *b);

char *srv_metrics_text(size_t handles, size_t handles_busy,
		       unsigned audit_batch)
{
	struct buf b = {malloc(8192), 0, 8192, 0};
	unsigned long long cum = 0;
	size_t r, s, k;

	if (b.s == NULL)
		return NULL;
	b.s[0] = '\0';
	put(&b, "# HELP rekisteri_http_requests_total Requests by route "
		"and status.\n# TYPE rekisteri_http_requests_total counter\n");
	for (r = 0; r <= NROUTE_MAX; r++) {
		const char *tmpl =
			r < srv_nroutes ? srv_routes[r].tmpl : "(none)";
		const char *m = r < srv_nroutes
					? srv_method_name(srv_routes[r].method)
					: "-";
		if (r >= srv_nroutes && r != NROUTE_MAX)
			continue;
		for (s = 0; s < NSTATUS; s++) {
			unsigned long long v = atomic_load(&counts[r][s]);
			char st[8];
			if (v == 0)
				continue;
			if (s + 1 < NSTATUS)
				snprintf(st, sizeof st, "%u", statuses[s]);
			else
				snprintf(st, sizeof st, "other");
			put(&b,
			    "rekisteri_http_requests_total{method=\"%s\","
			    "route=\"%s\",status=\"%s\"} %llu\n",
			    m, tmpl, st, v);
		}
	}
	put(&b, "# HELP rekisteri_http_request_duration_seconds Time from "
		"the request's headers to its answer.\n"
		"# TYPE rekisteri_http_request_duration_seconds histogram\n");
	for (k = 0; k < NBUCKET; k++) {
		cum += atomic_load(&hist[k]);
		put(&b,
		    "rekisteri_http_request_duration_seconds_bucket{le=\"%g\"} "
		    "%llu\n",
		    buckets[k], cum);
	}
	cum += atomic_load(&hist[NBUCKET]);
	put(&b,
	    "rekisteri_http_request_duration_seconds_bucket{le=\"+Inf\"} "
	    "%llu\n",
	    cum);
	put(&b, "rekisteri_http_request_duration_seconds_sum %.6f\n",
	    (double)atomic_load(&hist_sum_us) / 1e6);
	put(&b, "rekisteri_http_request_duration_seconds_count %llu\n",
	    (unsigned long long)atomic_load(&hist_count));
	put(&b,
	    "# HELP rekisteri_register_handles Open register handles.\n"
	    "# TYPE rekisteri_register_handles gauge\n"
	    "rekisteri_register_handles %zu\n"
	    "# HELP rekisteri_register_handles_busy Handles serving a "
	    "request now.\n"
	    "# TYPE rekisteri_register_handles_busy gauge\n"
	    "rekisteri_register_handles_busy %zu\n"
	    "# HELP rekisteri_audit_batch_size Read audit entries committed "
	    "per group (the bound of each handle's audit queue).\n"
	    "# TYPE rekisteri_audit_batch_size gauge\n"
	    "rekisteri_audit_batch_size %u\n"
	    "# HELP rekisteri_idempotency_keys Idempotency keys held.\n"
	    "# TYPE rekisteri_idempotency_keys gauge\n"
	    "rekisteri_idempotency_keys %zu\n",
	    handles, handles_busy, audit_batch, srv_idem_count());
	replica_text(&b);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int log_on = 1;

void srv_access_log(uint64_t rid, const char *method, const char *route,
		    unsigned status, double seconds, uint64_t bytes_in)
{
	struct timespec ts;
	struct tm tm;
	char at[32];

	if (!log_on)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf: stdio locks the stream, so lines never interleave.
	 * method and route come from fixed tables, never from the client. */
	fprintf(stderr,
		"{\"ts\":\"%s.%03ldZ\",\"rid\":\"%016llx\",\"method\":\"%s\","
		"\"route\":\"%s\",\"status\":%u,\"ms\":%.3f,\"in\":%llu}\n",
		at, ts.tv_nsec / 1000000, (unsigned long long)rid, method,
		route, status, seconds * 1e3, (unsigned long long)bytes_in);
}

void srv_log(const char *level, const char *msg)
{
	struct json_t *v = json_pack("{s:s,s:s}", "level", level, "msg", msg);
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	if (s != NULL)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(v);
}

void srv_log_enable(int on)
{
	log_on = on;
}

/* ---- the read replica's counters (serve --read-replica) ---- */

static atomic_int replica_on;
static atomic_ullong replica_n[SRV_REPLICA_NEVENTS];

void srv_replica_enable(void)
{
	atomic_store(&replica_on, 1);
}

int srv_replica_enabled(void)
{
	return atomic_load(&replica_on);
}

void srv_replica_count(enum srv_replica_event e, uint64_t n)
{
	if (e < SRV_REPLICA_NEVENTS)
		atomic_fetch_add(&replica_n[e], (unsigned long long)n);
}

/* Only on a server with a replica: the others have nothing to count. */
static void replica_text(struct buf *b)
{
	if (!atomic_load(&replica_on))
		return;
	put(b,
	    "# HELP rekisteri_replica_reads_total Read transactions the "
	    "read replica served.\n"
	    "# TYPE rekisteri_replica_reads_total counter\n"
	    "rekisteri_replica_reads_total %llu\n"
	    "# HELP rekisteri_replica_fallbacks_total Requests of replica "
	    "routes that read on the primary: the standby behind, "
	    "unreachable or not needed (primary), or failed and run again "
	    "(retry).\n"
	    "# TYPE rekisteri_replica_fallbacks_total counter\n"
	    "rekisteri_replica_fallbacks_total{reason=\"primary\"} %llu\n"
	    "rekisteri_replica_fallbacks_total{reason=\"retry\"} %llu\n",
	    (unsigned long long)atomic_load(&replica_n[SRV_REPLICA_READS]),
	    (unsigned long long)atomic_load(&replica_n[SRV_REPLICA_PRIMARY]),
	    (unsigned long long)atomic_load(&replica_n[SRV_REPLICA_RETRY]));
}
