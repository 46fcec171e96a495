/*
 * htmlesc.h: escaping of text written into HTML (L0, no allocation), shared
 * by the pages the library renders (the access report, the records of
 * processing).
 */
#ifndef RK_HTMLESC_H
#define RK_HTMLESC_H

#include <stddef.h>

/* Receives the escaped text piece by piece. */
typedef void (*html_put_fn)(void *ud, const char *p, size_t n);

/* Hands s (NULL: nothing) to put with & < > " ' as entities, so that text
 * can open neither an element nor an attribute. */
void html_escape(const char *s, html_put_fn put, void *ud);

#endif
