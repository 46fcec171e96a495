/*
 * jsonpos.c: positions of values in JSON text (see jsonpos.h).
 *
 * A flat scanner: containers that are not on the path are skipped by
 * counting brackets, so nesting depth costs no stack. Every index is checked
 * against len before it is read.
 */
#include "jsonpos.h"

#include <limits.h>

static int is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_delim(char ch)
{
	return is_ws(ch) || ch == ',' || ch == ':' || ch == '[' || ch == ']' ||
	       ch == '{' || ch == '}' || ch == '"';
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* i is at an opening quote; returns the offset after the closing one (or
 * len when the string is not closed). */
static size_t skip_string(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\') {
			if (++i >= len)
				return len;
		} else if (t[i] == '"') {
			return i + 1;
		}
	}
	return len;
}

/* A number, literal or stray byte: at least one byte, so scans progress. */
static size_t skip_scalar(const char *t, size_t len, size_t i)
{
	size_t start = i;

	while (i < len && !is_delim(t[i]))
		i++;
	return i == start ? i + 1 : i;
}

/* Skips one value starting at i (no white space before it). */
static size_t skip_value(const char *t, size_t len, size_t i)
{
	size_t nest = 0;

	if (i >= len)
		return len;
	if (t[i] == '"')
		return skip_string(t, len, i);
	if (t[i] != '{' && t[i] != '[')
		return skip_scalar(t, len, i);
	while (i < len) {
		char ch = t[i];

		if (ch == '"') {
			i = skip_string(t, len, i);
			continue;
		}
		if (ch == '{' || ch == '[') {
			nest++;
		} else if (ch == '}' || ch == ']') {
			if (--nest == 0)
				return i + 1;
		}
		i++;
	}
	return len;
}

static int hex4(const char *t, size_t len, size_t i, unsigned *out)
{
	unsigned v = 0;
	size_t k;

	if (i > len || len - i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		char ch = t[i + k];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return -1;
		v = v * 16 + d;
	}
	*out = v;
	return 0;
}

static size_t utf8_put(unsigned cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes one character of a string body at *i into out (*n bytes).
 * Returns 1 for a character, 0 after consuming the closing quote, -1 when
 * the text ends first. Bad escapes decode to something harmless: Jansson
 * has rejected such text before anyone asks for a position in it. */
static int str_next(const char *t, size_t len, size_t *i, unsigned char out[4],
		    size_t *n)
{
	char ch;
	unsigned cp, lo;

	if (*i >= len)
		return -1;
	ch = t[*i];
	if (ch == '"') {
		(*i)++;
		return 0;
	}
	*n = 1;
	if (ch != '\\') {
		out[0] = (unsigned char)ch;
		(*i)++;
		return 1;
	}
	if (*i + 1 >= len) {
		*i = len;
		return -1;
	}
	ch = t[*i + 1];
	*i += 2;
	switch (ch) {
	case 'b':
		out[0] = '\b';
		return 1;
	case 'f':
		out[0] = '\f';
		return 1;
	case 'n':
		out[0] = '\n';
		return 1;
	case 'r':
		out[0] = '\r';
		return 1;
	case 't':
		out[0] = '\t';
		return 1;
	case 'u':
		break;
	default:
		out[0] = (unsigned char)ch;
		return 1;
	}
	if (hex4(t, len, *i, &cp) != 0) {
		out[0] = '?';
		return 1;
	}
	*i += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF && *i + 1 < len && t[*i] == '\\' &&
	    t[*i + 1] == 'u' && hex4(t, len, *i + 2, &lo) == 0 &&
	    lo >= 0xDC00 && lo <= 0xDFFF) {
		*i += 6;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	} else if (cp >= 0xD800 && cp <= 0xDFFF) {
		out[0] = '?';
		return 1;
	}
	*n = utf8_put(cp, out);
	return 1;
}

/* Compares the string at *i (its opening quote) with key; leaves *i after
 * the string. */
static int str_equals(const char *t, size_t len, size_t *i, const char *key)
{
	unsigned char buf[4];
	size_t n = 0, k = 0, j;
	int same = 1, r;

	(*i)++;
	while ((r = str_next(t, len, i, buf, &n)) == 1) {
		for (j = 0; j < n; j++) {
			if (same && key[k] != '\0' &&
			    (unsigned char)key[k] == buf[j])
				k++;
			else
				same = 0;
		}
	}
	return r == 0 && same && key[k] == '\0';
}

void jsonpos_offset(const char *text, size_t len, size_t off, int *line,
		    int *column)
{
	size_t i;
	int l = 1, c = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n') {
			if (l < INT_MAX)
				l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80 && c < INT_MAX) {
			c++;
		}
	}
	*line = l;
	*column = c;
}

int jsonpos_locate(const char *text, size_t len, const jsonpos_seg *path,
		   size_t depth, int at_key, int *line, int *column)
{
	size_t i = skip_ws(text, len, 0), found = i, level;
	int ok = 0;

	if (depth > JSONPOS_MAX_DEPTH)
		depth = JSONPOS_MAX_DEPTH;
	for (level = 0; level < depth; level++) {
		const jsonpos_seg *seg = &path[level];
		int hit = 0;

		if (i >= len)
			goto out;
		if (seg->key != NULL) {
			if (text[i] != '{')
				goto out;
			for (i++;;) {
				size_t kstart;
				int same;

				i = skip_ws(text, len, i);
				if (i >= len || text[i] != '"')
					goto out;
				kstart = i;
				same = str_equals(text, len, &i, seg->key);
				i = skip_ws(text, len, i);
				if (i >= len || text[i] != ':')
					goto out;
				i = skip_ws(text, len, i + 1);
				if (same) {
					found = at_key && level + 1 == depth
							? kstart
							: i;
					hit = 1;
					break;
				}
				i = skip_ws(text, len,
					    skip_value(text, len, i));
				if (i >= len || text[i] != ',')
					goto out;
				i++;
			}
		} else {
			size_t k;

			if (text[i] != '[')
				goto out;
			for (i++, k = 0;; k++) {
				i = skip_ws(text, len, i);
				if (i >= len || text[i] == ']')
					goto out;
				if (k == seg->index) {
					found = i;
					hit = 1;
					break;
				}
				i = skip_ws(text, len,
					    skip_value(text, len, i));
				if (i >= len || text[i] != ',')
					goto out;
				i++;
			}
		}
		if (!hit)
			goto out;
	}
	ok = 1;
out:
	jsonpos_offset(text, len, found, line, column);
	return ok ? 0 : -1;
}

size_t jsonpos_token_start(const char *text, size_t len, size_t off)
{
	size_t i = 0;

	if (off >= len)
		return len;
	while (i < len) {
		size_t start, end;

		i = skip_ws(text, len, i);
		if (i > off || i >= len)
			break;
		start = i;
		if (text[i] == '"')
			end = skip_string(text, len, i);
		else if (is_delim(text[i]))
			end = i + 1;
		else
			end = skip_scalar(text, len, i);
		if (off < end)
			return start;
		i = end;
	}
	return off;
}

int jsonpos_unterminated_string(const char *text, size_t len, size_t off)
{
	size_t i;

	if (off >= len || text[off] != '"')
		return 0;
	for (i = off + 1; i < len; i++) {
		if (text[i] == '\\')
			i++;
		else if (text[i] == '"')
			return 0;
	}
	return 1;
}

int jsonpos_string_at(const char *text, size_t len, size_t off, char *buf,
		      size_t bufsz)
{
	unsigned char ch[4];
	size_t i = off + 1, n = 0, used = 0;
	int cut = 0;

	if (bufsz == 0)
		return -1;
	buf[0] = '\0';
	if (off >= len || text[off] != '"')
		return -1;
	while (str_next(text, len, &i, ch, &n) == 1) {
		size_t j;

		if (used + n >= bufsz) {
			cut = 1;
			break;
		}
		for (j = 0; j < n; j++)
			buf[used++] = (char)ch[j];
	}
	/* Raw UTF-8 arrives byte by byte: never leave half a character. */
	if (cut) {
		size_t k = used;

		while (k > 0 && ((unsigned char)buf[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0) {
			unsigned char lead = (unsigned char)buf[k - 1];
			size_t need = lead >= 0xF0   ? 4
				      : lead >= 0xE0 ? 3
				      : lead >= 0xC0 ? 2
						     : 1;
			if (used - (k - 1) < need)
				used = k - 1;
		}
	}
	buf[used] = '\0';
	return 0;
}
