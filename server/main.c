/*
 * main.c: `rekisteri serve`: options, the pool of register handles (one per
 * worker thread; a handle serves one thread at a time), the daemons (one per
 * listen address, each an epoll thread pool), readiness after the audit
 * chain verified, and the graceful shutdown on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "serve.h"

#define MAX_LISTEN 8

static const char usage[] =
	"usage: rekisteri serve [--listen ADDR:PORT]... [--threads N]\n"
	"       [--tls-cert FILE --tls-key FILE] [--insecure-listen]\n"
	"       [--max-body BYTES] [--max-upload BYTES] [--max-connections N]\n"
	"       [--max-per-ip N] [--timeout SECONDS] [--auth-fails N]\n"
	"       [--audit-batch N] [--grace SECONDS] [--tmp-dir DIR]\n"
	"       [--port-file FILE] [--no-access-log] [--no-group-commit]\n"
	"       [--backup-dir DIR] [--web-dir DIR]\n"
	"       [--metrics-token-file FILE] [--allowed-host NAME]...\n"
	"       [--trusted-proxy ADDR]... [--read-replica URL]\n"
	"       [--replica-max-lag MS]\n"
	"\n"
	"Serves the register's HTTP API (docs/server.md) until SIGTERM or "
	"SIGINT,\n"
	"then lets requests in flight finish and commits the audit queue.\n"
	"--listen defaults to 127.0.0.1:8080 (port 0: any free port, written\n"
	"to --port-file); a non-loopback address needs TLS unless\n"
	"--insecure-listen. --threads defaults to the number of cores; each\n"
	"thread has a register handle of its own. Writes share commits (group\n"
	"commit) on one more handle unless --no-group-commit.\n"
	"Clients authenticate with 'Authorization: Bearer TOKEN' (the token\n"
	"that `actor add` printed; NAME:TOKEN also works) and name the\n"
	"purpose of each data call in the header Rekisteri-Purpose.\n"
	"The web console (/console) and the self-service page (/me) are\n"
	"served from --web-dir (default: the installed " RK_WEB_DIR ").\n"
	"/metrics answers loopback clients only, or with\n"
	"--metrics-token-file anyone who sends that file's token as a bearer\n"
	"token. --allowed-host (repeatable) answers 421 to requests whose\n"
	"Host header names another host (DNS rebinding). --trusted-proxy\n"
	"(repeatable) names a reverse proxy whose X-Forwarded-For gives the\n"
	"client's address (failed-authentication limit, /metrics).\n"
	"--read-replica (or $REKISTERI_READ_REPLICA) names a streaming-\n"
	"replication standby of a PostgreSQL register: the routes that read\n"
	"and decide nothing (a subject, find, the subject and record lists,\n"
	"the access report) read there once it has replayed every write of\n"
	"this server; the rest, authentication included, stay on the "
	"primary.\n"
	"--replica-max-lag MS bounds how stale such a read may be: it goes to\n"
	"the standby only while the last transaction replayed there committed\n"
	"at most MS milliseconds ago, so that a change made by another\n"
	"process (an erasure, say) shows within MS (default 0: no bound).\n";

struct listen_addr {
	struct sockaddr_storage sa;
	int v6;
	int loopback;
	char text[80];
};

/* ---- the handle pool ------------------------------------------------------
 */

static rk_register **pool;
static size_t pool_n, pool_free;
static rk_register **pool_stack;
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static atomic_int ready, draining;
/* the writer stage's own handle (group commit), outside the pool */
static rk_register *wreg;
static unsigned audit_batch = 64;

/* ---- checkpoints off the request path -------------------------------------
 * A worker whose commit (a batch of read audit entries, a write) fills the
 * database's log would copy the log back and sync it: tens of milliseconds
 * in which the requests of all its connections wait, the tail of the
 * latency. The pool's and the writer's handles only note that a checkpoint
 * is owed; this thread runs it on a handle of its own.
 */

#define CKPT_PAGES 4000 /* the log's size at which SQLite's own would run */
static rk_register *creg;
static pthread_t ckpt_tid;
static int ckpt_running;
static atomic_int ckpt_stop;

static void *ckpt_main(void *arg)
{
	/* often enough that the log grows little past its size; a look at
	 * an atomic flag when none is owed */
	const struct timespec tick = {0, 20 * 1000 * 1000};
	int failing = 0;

	(void)arg;
	while (!atomic_load(&ckpt_stop)) {
		int ran = 0;
		rk_status st = rk_register_checkpoint_owed(creg, &ran);
		if (st == RK_OK && ran)
			srv_writer_checkpointed();
		if (st != RK_OK && !failing)
			srv_log("error", rk_errmsg(creg));
		failing = st != RK_OK;
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* Opens the checkpointer's handle and starts it; then a handle may defer
 * (ckpt_defer). -1 when it cannot: the handles checkpoint themselves. */
static int ckpt_start(const char *db, const char *key)
{
	if (rk_register_open(db, key, &creg) != RK_OK) {
		rk_register_close(creg);
		creg = NULL;
		return -1;
	}
	atomic_store(&ckpt_stop, 0);
	if (pthread_create(&ckpt_tid, NULL, ckpt_main, NULL) != 0) {
		rk_register_close(creg);
		creg = NULL;
		return -1;
	}
	ckpt_running = 1;
	return 0;
}

static void ckpt_defer(rk_register *reg)
{
	/* without the checkpointer, the handle's commits go on running
	 * SQLite's own checkpoints */
	if (ckpt_running &&
	    rk_register_defer_checkpoints(reg, CKPT_PAGES) != RK_OK)
		srv_log("warning", "a handle checkpoints in its requests");
}

/* After the handles' last commits: closing the last connection
 * checkpoints what is left. */
static void ckpt_end(void)
{
	if (ckpt_running) {
		atomic_store(&ckpt_stop, 1);
		pthread_join(ckpt_tid, NULL);
		ckpt_running = 0;
	}
	rk_register_close(creg);
	creg = NULL;
}

rk_register *srv_pool_get(void)
{
	rk_register *r = NULL;

	pthread_mutex_lock(&pool_mu);
	while (pool_free == 0 && pool_n > 0)
		pthread_cond_wait(&pool_cv, &pool_mu);
	if (pool_free > 0)
		r = pool_stack[--pool_free];
	pthread_mutex_unlock(&pool_mu);
	return r;
}

void srv_pool_put(rk_register *reg)
{
	if (reg == NULL)
		return;
	pthread_mutex_lock(&pool_mu);
	pool_stack[pool_free++] = reg;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_mu);
}

void srv_pool_stats(size_t *total, size_t *busy)
{
	pthread_mutex_lock(&pool_mu);
	*total = pool_n;
	*busy = pool_n - pool_free;
	pthread_mutex_unlock(&pool_mu);
}

int srv_is_ready(void)
{
	return atomic_load(&ready) && !atomic_load(&draining);
}

int srv_is_draining(void)
{
	return atomic_load(&draining);
}

unsigned srv_audit_batch(void)
{
	return audit_batch;
}

/* ---- options --------------------------------------------------------------
 */

static int err(int code, const char *msg, const char *arg)
{
	fprintf(stderr, "rekisteri: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	return code;
}

static int parse_num(const char *s, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_listen(const char *s, struct listen_addr *l)
{
	char host[64];
	const char *colon;
	unsigned long long port;
	size_t n;

	memset(l, 0, sizeof *l);
	snprintf(l->text, sizeof l->text, "%s", s);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof host ||
	    parse_num(colon + 1, 0, 65535, &port) != 0)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&l->sa;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		l->v6 = 1;
		l->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)(void *)&l->sa;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		l->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 20))
				goto bad;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto bad;
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto bad;
	fclose(f);
	buf[n] = '\0';
	return buf;
bad:
	fclose(f);
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	return NULL;
}

struct opts {
	struct listen_addr listen[MAX_LISTEN];
	size_t nlisten;
	unsigned threads;
	const char *tls_cert, *tls_key, *port_file;
	int insecure, access_log, group;
	char backup_dir[4096];
	unsigned max_conn, max_per_ip, timeout, auth_fails, grace;
	srv_config cfg;
	const char *web_dir;	 /* the console's files; NULL: the installed */
	const char *replica;	 /* --read-replica: a standby's URL, or NULL */
	unsigned replica_lag_ms; /* --replica-max-lag; 0: no bound */
	char metrics_token[128]; /* wiped when the server stops */
};

/* The token of /metrics: the file's first line, 16-127 visible ASCII
 * characters (a secret of its own, not an actor's). */
static int read_metrics_token(struct opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t n, i;
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fgets(line, sizeof line, f) == NULL)
		goto out;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n < 16 || n >= sizeof o->metrics_token)
		goto out;
	for (i = 0; i < n; i++)
		if (line[i] <= ' ' || line[i] > '~')
			goto out;
	memcpy(o->metrics_token, line, n + 1);
	o->cfg.metrics_token = o->metrics_token;
	rc = 0;
out:
	sodium_memzero(line, sizeof line);
	fclose(f);
	return rc;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	int i;
	unsigned long long v;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	const char *tmp = getenv("TMPDIR");

	memset(o, 0, sizeof *o);
	o->threads = cores > 0 && cores < 256 ? (unsigned)cores : 2;
	o->access_log = 1;
	o->group = 1;
	o->max_conn = 512;
	o->max_per_ip = 64;
	o->timeout = 30;
	o->auth_fails = 10;
	o->grace = 30;
	o->cfg.max_body = 1u << 20;
	o->cfg.max_upload = 16u << 20;
	o->cfg.max_depth = SRV_JSON_MAX_DEPTH;
	o->cfg.tmp_dir = tmp != NULL && tmp[0] ? tmp : "/tmp";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NUM(name, lo, hi, dst, type)                                           \
	if (strcmp(a, name) == 0) {                                            \
		if (parse_num(val, lo, hi, &v) != 0)                           \
			return err(2, "a bad value for", name);                \
		dst = (type)v;                                                 \
		i++;                                                           \
		continue;                                                      \
	}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return -1;
		}
		if (strcmp(a, "--listen") == 0) {
			if (val == NULL || o->nlisten == MAX_LISTEN ||
			    parse_listen(val, &o->listen[o->nlisten]) != 0)
				return err(2,
					   "--listen takes ADDR:PORT or "
					   "[ADDR6]:PORT (at most 8)",
					   NULL);
			o->nlisten++;
			i++;
			continue;
		}
		NUM("--threads", 1, 256, o->threads, unsigned)
		NUM("--max-body", 1024, 1u << 30, o->cfg.max_body, size_t)
		NUM("--max-upload", 1024, 1ull << 34, o->cfg.max_upload,
		    uint64_t)
		NUM("--max-connections", 1, 65536, o->max_conn, unsigned)
		NUM("--max-per-ip", 1, 65536, o->max_per_ip, unsigned)
		NUM("--timeout", 1, 3600, o->timeout, unsigned)
		NUM("--auth-fails", 1, 100000, o->auth_fails, unsigned)
		NUM("--audit-batch", 1, 1024, audit_batch, unsigned)
		NUM("--grace", 0, 3600, o->grace, unsigned)
		NUM("--replica-max-lag", 0, 86400000, o->replica_lag_ms,
		    unsigned)
#undef NUM
		if (strcmp(a, "--tls-cert") == 0 && val != NULL) {
			o->tls_cert = val;
			i++;
		} else if (strcmp(a, "--tls-key") == 0 && val != NULL) {
			o->tls_key = val;
			i++;
		} else if (strcmp(a, "--tmp-dir") == 0 && val != NULL) {
			o->cfg.tmp_dir = val;
			i++;
		} else if (strcmp(a, "--web-dir") == 0 && val != NULL) {
			o->web_dir = val;
			i++;
		} else if (strcmp(a, "--backup-dir") == 0 && val != NULL) {
			o->cfg.backup_dir = val;
			i++;
		} else if (strcmp(a, "--metrics-token-file") == 0 &&
			   val != NULL) {
			if (read_metrics_token(o, val) != 0)
				return err(2,
					   "--metrics-token-file needs a "
					   "readable file whose first line is "
					   "a token of 16-127 visible "
					   "characters",
					   NULL);
			i++;
		} else if (strcmp(a, "--allowed-host") == 0 && val != NULL) {
			if (o->cfg.nallowed_hosts == SRV_MAX_HOSTS ||
			    val[0] == '\0' || strlen(val) > 255)
				return err(2,
					   "--allowed-host takes a host name "
					   "(at most 16 of them)",
					   NULL);
			o->cfg.allowed_hosts[o->cfg.nallowed_hosts++] = val;
			i++;
		} else if (strcmp(a, "--trusted-proxy") == 0 && val != NULL) {
			srv_config *c = &o->cfg;
			if (c->ntrusted_proxies == SRV_MAX_PROXIES ||
			    srv_addr_norm(
				    val, strlen(val),
				    c->trusted_proxies[c->ntrusted_proxies]) !=
				    0)
				return err(2,
					   "--trusted-proxy takes an IPv4 or "
					   "IPv6 address (at most 16 of them)",
					   NULL);
			c->ntrusted_proxies++;
			i++;
		} else if (strcmp(a, "--read-replica") == 0 && val != NULL) {
			o->replica = val;
			i++;
		} else if (strcmp(a, "--port-file") == 0 && val != NULL) {
			o->port_file = val;
			i++;
		} else if (strcmp(a, "--insecure-listen") == 0) {
			o->insecure = 1;
		} else if (strcmp(a, "--no-access-log") == 0) {
			o->access_log = 0;
		} else if (strcmp(a, "--no-group-commit") == 0) {
			o->group = 0;
		} else {
			return err(2,
				   "unknown option or missing value; see "
				   "rekisteri serve --help",
				   NULL);
		}
	}
	if (o->nlisten == 0)
		parse_listen("127.0.0.1:8080", &o->listen[o->nlisten++]);
	if (o->cfg.backup_dir != NULL) {
		/* Absolute once: files are named in it by the server only. */
		struct stat sb;
		char *abs = realpath(o->cfg.backup_dir, NULL);
		if (abs == NULL || stat(abs, &sb) != 0 ||
		    !S_ISDIR(sb.st_mode)) {
			free(abs);
			return err(2, "--backup-dir must be an existing folder",
				   o->cfg.backup_dir);
		}
		snprintf(o->backup_dir, sizeof o->backup_dir, "%s", abs);
		free(abs);
		o->cfg.backup_dir = o->backup_dir;
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return err(2, "--tls-cert and --tls-key go together", NULL);
	for (size_t k = 0; k < o->nlisten; k++)
		if (!o->listen[k].loopback && o->tls_cert == NULL &&
		    !o->insecure)
			return err(2,
				   "refusing to serve personal data without "
				   "TLS on a non-loopback address (give "
				   "--tls-cert/--tls-key, or "
				   "--insecure-listen behind a TLS proxy)",
				   o->listen[k].text);
	return 0;
}

/* ---- the server -----------------------------------------------------------
 */

static uint16_t bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return di != NULL ? di->port : 0;
}

/* One daemon for listen address i: on its address, or on the listening
 * socket fd of a daemon it replaces (a TLS reload). NULL on failure. */
static struct MHD_Daemon *start_daemon(const struct opts *o, size_t i,
				       const char *cert, const char *tlskey,
				       MHD_socket fd)
{
	unsigned n = o->threads / (unsigned)o->nlisten;
	/* suspend/resume: a write waits for its group's commit without
	 * holding its worker thread */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	/* TLS options only with TLS: MHD warns otherwise */
	struct MHD_OptionItem opt[] = {
		{MHD_OPTION_END, 0, NULL}, /* the address or the socket */
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)tlskey},
		{MHD_OPTION_END, 0, NULL}};

	if (n == 0)
		n = 1;
	if (o->listen[i].v6)
		flags |= MHD_USE_IPv6;
	if (cert != NULL)
		flags |= MHD_USE_TLS;
	else
		opt[1].option = MHD_OPTION_END;
	if (fd != MHD_INVALID_SOCKET) {
		opt[0].option = MHD_OPTION_LISTEN_SOCKET;
		opt[0].value = (intptr_t)fd;
	} else {
		opt[0].option = MHD_OPTION_SOCK_ADDR;
		opt[0].ptr_value = (void *)(uintptr_t)&o->listen[i].sa;
	}
	return MHD_start_daemon(
		flags, 0, NULL, NULL, http_on_request, NULL, MHD_OPTION_ARRAY,
		opt, MHD_OPTION_THREAD_POOL_SIZE, n,
		MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, NULL,
		MHD_OPTION_CONNECTION_LIMIT, o->max_conn,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
		/* the headers and a read buffer: headers that do not fit are
		 * refused by MHD (431). 16 KiB hold about 15 KB of headers;
		 * MHD zeroes the whole pool between two requests of a
		 * connection, and 64 KiB of it was 3-4 % of a read's CPU. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
}

/* ---- reloading the TLS certificate on SIGHUP --------------------------------
 * The new certificate and key are read and tried first (a daemon that does
 * not listen); only when they load does each address get a new daemon on
 * the same listening socket. The old daemons stop accepting at once and
 * are stopped once their connections are gone (or after --grace): requests
 * on them finish with the old certificate.
 */

#define MAX_RETIRED 4

struct retired {
	struct MHD_Daemon *d[MAX_LISTEN];
	char *cert, *key; /* what they were started with */
	time_t deadline;
};

static struct retired retired[MAX_RETIRED];

static void free_pem(char *p)
{
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

static unsigned daemon_connections(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return di != NULL ? di->num_connections : 0;
}

/* Stops the retired daemons whose connections are gone or whose time is up
 * (all of them with force). */
static void retired_sweep(int force)
{
	time_t now = time(NULL);

	for (size_t g = 0; g < MAX_RETIRED; g++) {
		int left = 0;
		for (size_t i = 0; i < MAX_LISTEN; i++) {
			struct MHD_Daemon *d = retired[g].d[i];
			if (d == NULL)
				continue;
			if (force || now >= retired[g].deadline ||
			    daemon_connections(d) == 0) {
				MHD_stop_daemon(d);
				retired[g].d[i] = NULL;
			} else {
				left = 1;
			}
		}
		if (!left &&
		    (retired[g].cert != NULL || retired[g].key != NULL)) {
			free_pem(retired[g].cert);
			free_pem(retired[g].key);
			retired[g].cert = retired[g].key = NULL;
		}
	}
}

static void tls_reload(const struct opts *o, struct MHD_Daemon **d, char **cert,
		       char **tlskey)
{
	char *nc, *nk;
	struct MHD_Daemon *probe;
	size_t g, i;
	char msg[160];

	if (*cert == NULL) {
		srv_log("info", "SIGHUP: no TLS certificate to reload");
		return;
	}
	nc = read_all(o->tls_cert);
	nk = read_all(o->tls_key);
	probe = nc != NULL && nk != NULL
			? MHD_start_daemon(
				  MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET, 0,
				  NULL, NULL, http_on_request, NULL,
				  MHD_OPTION_HTTPS_MEM_CERT, nc,
				  MHD_OPTION_HTTPS_MEM_KEY, nk, MHD_OPTION_END)
			: NULL;
	if (probe == NULL) {
		free_pem(nc);
		free_pem(nk);
		srv_log("error", "SIGHUP: the new TLS certificate or key does "
				 "not load; the old one stays in use");
		return;
	}
	MHD_stop_daemon(probe);
	/* A free place for the old daemons (the oldest go at once when there
	 * is none). */
	retired_sweep(0);
	for (g = 0; g < MAX_RETIRED; g++)
		if (retired[g].cert == NULL)
			break;
	if (g == MAX_RETIRED) {
		retired_sweep(1);
		g = 0;
	}
	retired[g].cert = *cert;
	retired[g].key = *tlskey;
	retired[g].deadline = time(NULL) + (time_t)o->grace;
	*cert = nc;
	*tlskey = nk;
	for (i = 0; i < o->nlisten; i++) {
		MHD_socket s = MHD_quiesce_daemon(d[i]);
		struct MHD_Daemon *nd = NULL;
		if (s != MHD_INVALID_SOCKET) {
			nd = start_daemon(o, i, nc, nk, s);
			/* The certificate loaded in the probe; should the
			 * daemon still fail, the old certificate serves. */
			if (nd == NULL)
				nd = start_daemon(o, i, retired[g].cert,
						  retired[g].key, s);
		}
		if (nd == NULL) {
			snprintf(msg, sizeof msg,
				 "SIGHUP: cannot serve %s with a new daemon; "
				 "the old one goes on",
				 o->listen[i].text);
			srv_log("error", msg);
			if (s != MHD_INVALID_SOCKET)
				close(s);
			continue;
		}
		retired[g].d[i] = d[i];
		d[i] = nd;
	}
	srv_log("info", "SIGHUP: TLS certificate reloaded");
}

/* ---- the read replica ----------------------------------------------------
 * Every handle (the pool's and the writer's) shares one floor: a write
 * through any of them raises it, and a pool handle reads on the standby
 * only what has replayed up to it, so a client reads what it wrote through
 * this server whichever handle serves it. The pool's handles read on the
 * standby only inside an R_REPLICA route's handler (http.c run_replica). */

static rk_read_floor *read_floor;

/* 0, or the exit code after the error was printed. A server that is not a
 * standby, or a SQLite register, stops the start here (exit 2), not at the
 * first request. */
static int replica_setup(const char *url, unsigned lag_ms)
{
	char msg[512];
	rk_status st;

	if (url == NULL && lag_ms != 0)
		return err(2, "--replica-max-lag needs --read-replica", NULL);
	if (url == NULL)
		return 0;
	st = rk_read_floor_new(&read_floor);
	if (st != RK_OK)
		return err((int)st, "out of memory", NULL);
	for (size_t i = 0; i < pool_n; i++) {
		st = rk_register_set_read_replica(pool[i], url);
		if (st == RK_OK)
			st = rk_register_share_read_floor(pool[i], read_floor);
		if (st == RK_OK)
			st = rk_register_set_replica_max_lag(pool[i],
							     (int64_t)lag_ms);
		if (st != RK_OK) {
			snprintf(msg, sizeof msg, "--read-replica: %s",
				 rk_errmsg(pool[i]));
			return err(st == RK_EINVAL ? 2 : (int)st, msg, NULL);
		}
		rk_register_use_read_replica(pool[i], 0);
	}
	if (wreg != NULL &&
	    rk_register_share_read_floor(wreg, read_floor) != RK_OK)
		return err(1, "--read-replica: cannot share the read floor",
			   NULL);
	srv_replica_enable();
	srv_log("info", "read replica set: replica routes read there when "
			"it has replayed this server's writes");
	return 0;
}

int rk_serve_main(const char *db, const char *key, const char *replica,
		  int argc, char **argv)
{
	struct opts o;
	struct MHD_Daemon *d[MAX_LISTEN] = {NULL};
	char *cert = NULL, *tlskey = NULL;
	sigset_t sigs;
	size_t i;
	int rc, sig = 0;
	rk_audit_report rep;
	rk_register *reg;
	rk_status st;
	char msg[512];

	rc = parse_opts(&o, argc, argv);
	if (rc != 0) {
		sodium_memzero(o.metrics_token, sizeof o.metrics_token);
		return rc < 0 ? 0 : rc;
	}
	if (o.replica == NULL)
		o.replica = replica;
	if (sodium_init() < 0)
		return err(1, "cannot initialise libsodium", NULL);
	randombytes_buf(srv_etag_key, sizeof srv_etag_key);
	if (o.tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return err(1, "libmicrohttpd was built without TLS",
				   NULL);
		cert = read_all(o.tls_cert);
		tlskey = read_all(o.tls_key);
		if (cert == NULL || tlskey == NULL) {
			rc = err(2, "cannot read the TLS certificate or key",
				 NULL);
			goto out;
		}
	}
	/* Signals are taken by sigwait in this thread only: the workers
	 * that libmicrohttpd starts inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* PostgreSQL has no log to copy back: no thread, no connection */
	if (strncmp(db, "postgresql://", 13) != 0 &&
	    strncmp(db, "postgres://", 11) != 0 && ckpt_start(db, key) != 0)
		srv_log("warning",
			"no checkpointer thread: requests checkpoint "
			"the database themselves");
	pool = calloc(o.threads, sizeof *pool);
	pool_stack = calloc(o.threads, sizeof *pool_stack);
	if (pool == NULL || pool_stack == NULL) {
		rc = err(1, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < o.threads; i++) {
		st = rk_register_open(db, key, &pool[i]);
		if (st != RK_OK) {
			snprintf(msg, sizeof msg,
				 "cannot open the register: %s",
				 pool[i] != NULL ? rk_errmsg(pool[i])
						 : rk_status_name(st));
			rk_register_close(pool[i]);
			pool[i] = NULL;
			rc = err((int)st, msg, NULL);
			goto out;
		}
		rk_register_set_audit_batch(pool[i], audit_batch);
		/* a request's read shares its authentication's snapshot;
		 * run_on releases it after every request */
		rk_register_set_request_snapshot(pool[i], 1);
		ckpt_defer(pool[i]);
		pool_stack[i] = pool[i];
		pool_n++;
		/* the ledger says where an entry without a channel came in */
		if (rk_register_set_channel(pool[i], "api") != RK_OK) {
			rc = err(1, "cannot set the handles' channel", NULL);
			goto out;
		}
	}
	pool_free = pool_n;
	if (o.group) {
		st = rk_register_open(db, key, &wreg);
		if (st != RK_OK) {
			snprintf(msg, sizeof msg,
				 "cannot open the register: %s",
				 wreg != NULL ? rk_errmsg(wreg)
					      : rk_status_name(st));
			rk_register_close(wreg);
			wreg = NULL;
			rc = err((int)st, msg, NULL);
			goto out;
		}
		rk_register_set_audit_batch(wreg, audit_batch);
		ckpt_defer(wreg);
		if (rk_register_set_channel(wreg, "api") != RK_OK) {
			rc = err(1, "cannot set the writer's channel", NULL);
			goto out;
		}
	}
	/* before the writer starts: its commits raise the shared floor */
	rc = replica_setup(o.replica, o.replica_lag_ms);
	if (rc != 0)
		goto out;
	if (wreg != NULL && srv_writer_start(wreg) != 0) {
		rc = err(1, "cannot start the writer thread", NULL);
		goto out;
	}
	srv_metrics_init();
	srv_rl_init(o.auth_fails, 60);
	srv_idem_init(4096, 86400);
	srv_log_enable(o.access_log);
	http_init(&o.cfg);
	/* The pages are optional: without them the API still serves. A
	 * directory named on the command line must be there. */
	if (srv_static_init(o.web_dir != NULL ? o.web_dir : RK_WEB_DIR) != 0) {
		if (o.web_dir != NULL) {
			rc = err(2, "cannot open --web-dir", o.web_dir);
			goto out;
		}
		srv_log("warning", "no web console: the installed web "
				   "directory is missing");
	}

	for (i = 0; i < o.nlisten; i++) {
		d[i] = start_daemon(&o, i, cert, tlskey, MHD_INVALID_SOCKET);
		if (d[i] == NULL) {
			rc = err(1, "cannot listen on", o.listen[i].text);
			goto out;
		}
		snprintf(msg, sizeof msg, "listening on %s (port %u, %s)",
			 o.listen[i].text, bound_port(d[i]),
			 cert != NULL ? "TLS" : "plain HTTP");
		srv_log("info", msg);
	}
	if (o.port_file != NULL) {
		FILE *f = fopen(o.port_file, "w");
		if (f == NULL || fprintf(f, "%u\n", bound_port(d[0])) < 0 ||
		    fclose(f) != 0) {
			rc = err(1, "cannot write the port file", o.port_file);
			goto out;
		}
	}
	/* Ready only once the audit chain verified. */
	reg = srv_pool_get();
	memset(&rep, 0, sizeof rep);
	st = rk_audit_verify(reg, &rep);
	snprintf(msg, sizeof msg, "audit chain: %s (%lld entries)",
		 st == RK_OK ? "intact" : rk_errmsg(reg),
		 (long long)rep.entries);
	srv_pool_put(reg);
	srv_log(st == RK_OK ? "info" : "error", msg);
	if (st != RK_OK) {
		rc = (int)st;
		goto out;
	}
	atomic_store(&ready, 1);
	srv_log("info", "ready");
	for (;;) {
		/* Wakes every second to stop retired daemons. */
		struct timespec tick = {1, 0};
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig < 0) {
			retired_sweep(0);
			continue;
		}
		if (sig == SIGHUP) {
			tls_reload(&o, d, &cert, &tlskey);
			continue;
		}
		break;
	}
	snprintf(msg, sizeof msg, "signal %d: draining", sig);
	srv_log("info", msg);
	rc = 0;
out:
	atomic_store(&draining, 1);
	for (i = 0; i < MAX_LISTEN; i++)
		if (d[i] != NULL) {
			MHD_socket s = MHD_quiesce_daemon(d[i]);
			if (s != MHD_INVALID_SOCKET)
				close(s);
		}
	{
		/* Requests in flight finish (up to the grace period). */
		struct timespec ts = {0, 10 * 1000 * 1000};
		unsigned long waited = 0;
		while (http_inflight() > 0 &&
		       waited < (unsigned long)o.grace * 100) {
			nanosleep(&ts, NULL);
			waited++;
		}
	}
	/* Queued writes run and answer before the daemons stop (a suspended
	 * connection must be resumed before that). */
	srv_writer_stop();
	retired_sweep(1);
	for (i = 0; i < MAX_LISTEN; i++)
		if (d[i] != NULL)
			MHD_stop_daemon(d[i]);
	srv_static_close();
	if (wreg != NULL) {
		if (rk_register_flush(wreg) != RK_OK) {
			srv_log("error", rk_errmsg(wreg));
			if (rc == 0)
				rc = 1;
		}
		rk_register_close(wreg);
		wreg = NULL;
	}
	for (i = 0; i < pool_n; i++) {
		if (rk_register_flush(pool[i]) != RK_OK) {
			srv_log("error", rk_errmsg(pool[i]));
			if (rc == 0)
				rc = 1;
		}
		rk_register_close(pool[i]);
	}
	ckpt_end();
	if (pool_n > 0)
		srv_log("info", "stopped; audit queue committed");
	free(pool);
	free(pool_stack);
	pool = pool_stack = NULL;
	pool_n = pool_free = 0;
	/* after every handle that shared it is closed */
	rk_read_floor_free(read_floor);
	read_floor = NULL;
	srv_idem_free();
	free_pem(cert);
	free_pem(tlskey);
	sodium_memzero(o.metrics_token, sizeof o.metrics_token);
	return rc;
}
