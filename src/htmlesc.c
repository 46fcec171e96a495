/*
 * htmlesc.c: escaping of text written into HTML (see htmlesc.h).
 */
#include <string.h>

#include "htmlesc.h"

void html_escape(const char *s, html_put_fn put, void *ud)
{
	const char *run = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		const char *ent = NULL;

		switch (*s) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			continue;
		}
		put(ud, run, (size_t)(s - run));
		put(ud, ent, strlen(ent));
		run = s + 1;
	}
	put(ud, run, (size_t)(s - run));
}
