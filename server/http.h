/*
 * http.h: the glue between libmicrohttpd and the handlers (http.c), and the
 * server's configuration and handle pool (main.c).
 */
#ifndef RK_SERVER_HTTP_H
#define RK_SERVER_HTTP_H

#include <microhttpd.h>

#include "handlers.h"
#include "server.h"

#define SRV_MAX_HOSTS	16
#define SRV_MAX_PROXIES 16
#define SRV_ADDR_LEN	48 /* an address as text, with its NUL */

typedef struct srv_config {
	const char *tmp_dir;	/* where uploads and downloads pass through */
	size_t max_body;	/* bytes of a JSON body */
	uint64_t max_upload;	/* bytes of an attachment */
	size_t max_depth;	/* JSON nesting */
	const char *backup_dir; /* --backup-dir, or NULL */
	/* /metrics: the bearer token it needs (--metrics-token-file), or
	 * NULL: then only clients on loopback may read it */
	const char *metrics_token;
	/* --allowed-host: the Host names served (0: any) */
	const char *allowed_hosts[SRV_MAX_HOSTS];
	size_t nallowed_hosts;
	/* --trusted-proxy: peers whose X-Forwarded-For names the client, as
	 * srv_addr_norm writes them (0: the peer is the client) */
	char trusted_proxies[SRV_MAX_PROXIES][SRV_ADDR_LEN];
	size_t ntrusted_proxies;
} srv_config;

/* An IPv4 or IPv6 address's text [s, s + n) in its one canonical form
 * (inet_ntop's); 0 when it is an address, -1 otherwise. */
int srv_addr_norm(const char *s, size_t n, char out[SRV_ADDR_LEN]);

void http_init(const srv_config *c);
unsigned http_inflight(void);
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn,
				const char *url, const char *method,
				const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		       enum MHD_RequestTerminationCode toe);

/* A register handle for this request (waits for one), and back. */
rk_register *srv_pool_get(void);
void srv_pool_put(rk_register *reg);

void srv_log_enable(int on);

/* ---- the writer stage of group commit (writer.c) ---- */

/* A write request handed to the writer: run() runs it on the writer's
 * handle inside the open group; done() is called after the group's commit
 * (commit RK_OK) or its failure, and answers the request. */
typedef struct srv_job srv_job;
struct srv_job {
	srv_job *next;
	void (*run)(srv_job *j, rk_register *reg);
	void (*done)(srv_job *j, rk_register *reg, rk_status commit);
};

/* Starts the writer thread on its own handle reg. */
int srv_writer_start(rk_register *reg);
/* Queues j; -1 when the writer is not running (run it inline then). */
int srv_writer_submit(srv_job *j);
/* Runs what is queued, then stops the thread. */
void srv_writer_stop(void);
int srv_writer_on(void);
void srv_writer_stats(uint64_t *groups, uint64_t *writes, uint64_t *failed,
		      size_t *depth);
/* The checkpointer copied the log back while groups went on appending:
 * the writer finishes the copy between two groups (writer.c). */
void srv_writer_checkpointed(void);

#endif
