#ifndef RK_SQLMUTEX_H
#define RK_SQLMUTEX_H

/* Gives SQLite mutexes that spin for a bounded while before they sleep
 * (sqlmutex.c). Call once, before SQLite initializes: 0 when SQLite took
 * them, -1 when it keeps its own (it was initialized already, or was built
 * without mutexes). */
int sqlmutex_install(void);

#endif
