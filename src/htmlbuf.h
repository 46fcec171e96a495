/*
 * htmlbuf.h: a growing text buffer for HTML pages (the access report, the
 * notice) and the one escaping rule they share: every string that comes
 * from data goes through hb_esc, so nothing stored can open an element or
 * an attribute. The buffer wipes the blocks it leaves behind, since a page
 * may hold personal data.
 */
#ifndef RK_HTMLBUF_H
#define RK_HTMLBUF_H

#include <stddef.h>

typedef struct htmlbuf {
	char *p; /* NUL-terminated once anything was written */
	size_t n, cap;
	int oom; /* a write failed: the page is incomplete */
} htmlbuf;

/* Appends n bytes of s as they are (markup of the caller). */
void hb_put(htmlbuf *b, const char *s, size_t n);
/* Appends the NUL-terminated markup s as it is. */
void hb_raw(htmlbuf *b, const char *s);
/* Appends text from data: & < > " ' become entities. NULL writes nothing. */
void hb_esc(htmlbuf *b, const char *s);
/* Wipes and frees the buffer. */
void hb_free(htmlbuf *b);
/* The page (caller frees), or NULL after a failed write (then the buffer is
 * wiped and freed). The buffer is empty afterwards. */
char *hb_take(htmlbuf *b);

#endif
