/*
 * serve.h: the entry of `rekisteri serve`, for the command line (cli/main.c).
 */
#ifndef RK_SERVE_H
#define RK_SERVE_H

/* Runs the HTTP API server on the register db with its key file; argv[0]
 * is "serve". Returns the exit code. */
int rk_serve_main(const char *db, const char *key, int argc, char **argv);

#endif
