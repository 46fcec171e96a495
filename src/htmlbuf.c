/*
 * htmlbuf.c: the growing buffer and the HTML escaping shared by the pages
 * the library renders (see htmlbuf.h).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "htmlbuf.h"
#include "htmlesc.h"

#define HTML_MAX ((size_t)512 * 1024 * 1024)

void hb_put(htmlbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *np;

		while (cap < b->n + n + 1 && cap <= HTML_MAX)
			cap *= 2;
		if (cap > HTML_MAX) {
			b->oom = 1;
			return;
		}
		/* Not realloc: the old block may hold personal data and is
		 * wiped before it goes back to the allocator. */
		np = malloc(cap);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL) {
			memcpy(np, b->p, b->n);
			sec_wipe(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void hb_raw(htmlbuf *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static void hb_put_ud(void *ud, const char *p, size_t n)
{
	hb_put(ud, p, n);
}

/* The one escaping rule of the pages: htmlesc.c's. */
void hb_esc(htmlbuf *b, const char *s)
{
	html_escape(s, hb_put_ud, b);
}

void hb_free(htmlbuf *b)
{
	if (b->p != NULL) {
		sec_wipe(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof *b);
}

char *hb_take(htmlbuf *b)
{
	char *p;

	if (b->oom || b->p == NULL) {
		hb_free(b);
		return NULL;
	}
	p = b->p;
	memset(b, 0, sizeof *b);
	return p;
}
