/*
 * serve.h: the entry of `rekisteri serve`, for the command line (cli/main.c).
 */
#ifndef RK_SERVE_H
#define RK_SERVE_H

/* Runs the HTTP API server on the register db with its key file; argv[0]
 * is "serve". replica: the global --read-replica (or
 * $REKISTERI_READ_REPLICA) the command line took, or NULL. Returns the
 * exit code. */
int rk_serve_main(const char *db, const char *key, const char *replica,
		  int argc, char **argv);

#endif
