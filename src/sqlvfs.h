#ifndef RK_SQLVFS_H
#define RK_SQLVFS_H

/* Registers the SQLite store's VFS (the default one, with a transaction's
 * write-ahead log frames written in one call) and returns its name for
 * sqlite3_open_v2, or NULL if it could not be registered (then the default
 * VFS serves). Call once, before the first open. */
const char *sqlvfs_register(void);

#endif
