/*
 * ident.c: parsers for the identifiers of ident.h.
 *
 * No allocation and no locale: every character class is spelled out in ASCII
 * so results never depend on setlocale(). Each parser validates the whole
 * input before it writes anything, and builds its result in a local buffer,
 * so out may even be the same buffer as in.
 */
#include "ident.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SECS_PER_DAY 86400
#define EMAIL_MAX    254
#define LOCAL_MAX    64
#define LABEL_MAX    63
#define E164_MIN     7
#define E164_MAX     15
/* A national number needs this many digits after its trunk 0: the shortest
 * Finnish numbers (area code + subscriber) have six. */
#define NSN_MIN 6

static const char MSG_ARG[] = "missing argument";
static const char MSG_SMALL[] = "output buffer too small";
static const char MSG_EMPTY[] = "empty value";

static int fail(char *out, size_t outsz, const char **why, const char *msg)
{
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (why != NULL)
		*why = msg;
	return -1;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static int is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_alnum(int c)
{
	return is_digit(c) || is_lower(c) || is_upper(c);
}

static char to_upper(char c)
{
	return is_lower((unsigned char)c) ? (char)(c - 'a' + 'A') : c;
}

static char to_lower(char c)
{
	return is_upper((unsigned char)c) ? (char)(c - 'A' + 'a') : c;
}

static int is_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The part of in between leading and trailing white space (only ' ' when
 * spaces_only, so that other controls stay in and get refused). */
static void trim(const char *in, int spaces_only, const char **s, size_t *n)
{
	size_t len = strlen(in);
	size_t b = 0;

	if (spaces_only) {
		while (b < len && in[b] == ' ')
			b++;
		while (len > b && in[len - 1] == ' ')
			len--;
	} else {
		while (b < len && is_space((unsigned char)in[b]))
			b++;
		while (len > b && is_space((unsigned char)in[len - 1]))
			len--;
	}
	*s = in + b;
	*n = len - b;
}

/* Copies n bytes and a NUL to out; memmove because out may overlap src. */
static int emit(char *out, size_t outsz, const char **why, const char *src,
		size_t n)
{
	if (n >= outsz)
		return fail(out, outsz, why, MSG_SMALL);
	memmove(out, src, n);
	out[n] = '\0';
	return 0;
}

/* Value of n decimal digits at s (caller has checked they are digits). */
static int digits_value(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Length of the UTF-8 sequence at s (n bytes available) and its code point,
 * or 0 if it is malformed, overlong, a surrogate or beyond U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	uint32_t min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3Fu);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* C0, DEL and C1: none of them belongs in stored text. */
static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Characters that hide, reorder or fake text rather than show as
 * themselves: the bidirectional marks, embeddings, overrides and isolates
 * (Trojan Source), zero-width and invisible format characters, the line
 * and paragraph separators, the byte order mark, interlinear annotations,
 * tag characters, the variation selectors (U+FE00-FE0F, U+E0100-E01EF and
 * Mongolian U+180B-180F), the musical symbol format controls
 * (U+1D173-1D17A), the Egyptian hieroglyph format controls
 * (U+13430-1343F) and the shorthand format controls (U+1BCA0-1BCA3).
 * None belongs in a name or a stored text. */
static int is_invisible(uint32_t cp)
{
	return cp == 0x00AD || cp == 0x034F || cp == 0x061C || cp == 0x115F ||
	       cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5 ||
	       (cp >= 0x180B && cp <= 0x180F) ||
	       (cp >= 0x200B && cp <= 0x200F) ||
	       (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
	       (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
	       (cp >= 0xFFF9 && cp <= 0xFFFB) ||
	       (cp >= 0x13430 && cp <= 0x1343F) ||
	       (cp >= 0x1BCA0 && cp <= 0x1BCA3) ||
	       (cp >= 0x1D173 && cp <= 0x1D17A) ||
	       (cp >= 0xE0000 && cp <= 0xE007F) ||
	       (cp >= 0xE0100 && cp <= 0xE01EF);
}

/* Whether the emoji or text presentation selector cp (U+FE0F, U+FE0E)
 * follows a character that takes one (prev: a symbol or pictograph, or a
 * keycap base followed by U+20E3) in a text of several lines: "Kiitos"
 * and a red heart from a phone's keyboard is feedback, not a hidden
 * mark. Names and single-line values take none. */
static int emoji_selector_ok(uint32_t prev, uint32_t cp, uint32_t next)
{
	if (cp != 0xFE0E && cp != 0xFE0F)
		return 0;
	if ((prev >= '0' && prev <= '9') || prev == '#' || prev == '*')
		return next == 0x20E3;
	return prev == 0x00A9 || prev == 0x00AE ||
	       (prev >= 0x2100 && prev <= 0x2BFF && prev != 0x2212) ||
	       prev == 0x203C || prev == 0x2049 || prev == 0x3030 ||
	       prev == 0x303D || prev == 0x3297 || prev == 0x3299 ||
	       (prev >= 0x1F000 && prev <= 0x1FAFF);
}

/* Whether the code point at s[i] (n bytes) is one that text of several
 * lines refuses as invisible, given the one before it. */
static int invisible_in_lines(const char *s, size_t n, size_t i, uint32_t prev,
			      uint32_t cp, size_t len)
{
	uint32_t next = 0;

	if (!is_invisible(cp))
		return 0;
	if (i + len < n && utf8_seq((const unsigned char *)s + i + len,
				    n - i - len, &next) == 0)
		next = 0;
	return !emoji_selector_ok(prev, cp, next);
}

/* ---- card numbers ---- */

/* The zero of every run of ten decimal digits in Unicode (general category
 * Nd) and of the digit forms people paste (superscripts, subscripts,
 * circled and mathematical digits): a card number typed in full-width or
 * Arabic-Indic digits is still a card number. */
static const uint32_t digit_zeros[] = {
	0x0030,	 0x0660,  0x06F0,  0x07C0,  0x0966,  0x09E6,  0x0A66,  0x0AE6,
	0x0B66,	 0x0BE6,  0x0C66,  0x0CE6,  0x0D66,  0x0DE6,  0x0E50,  0x0ED0,
	0x0F20,	 0x1040,  0x1090,  0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,
	0x1A90,	 0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0x2080,  0xA620,  0xA8D0,
	0xA900,	 0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30,
	0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
	0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50,
	0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
	0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950, 0x1FBF0,
};

/* The value 0-9 of a digit in any of those forms, or -1. */
static int digit_value(uint32_t cp)
{
	size_t i;

	/* Most text is ASCII and Latin: answered without the table. */
	if (cp < 0x80)
		return cp >= '0' && cp <= '9' ? (int)(cp - '0') : -1;
	if (cp < 0x0660 && cp != 0x00B2 && cp != 0x00B3 && cp != 0x00B9)
		return -1;
	if (cp == 0x2070)
		return 0; /* superscripts: 0, 1, 2, 3 are scattered */
	if (cp == 0x00B9)
		return 1;
	if (cp == 0x00B2 || cp == 0x00B3)
		return (int)(cp - 0x00B0);
	if (cp >= 0x2074 && cp <= 0x2079)
		return (int)(cp - 0x2070);
	if (cp >= 0x2460 && cp <= 0x2468) /* circled 1-9 */
		return (int)(cp - 0x2460 + 1);
	if (cp == 0x24EA)
		return 0;
	if (cp >= 0x2776 && cp <= 0x277E) /* dingbat negative circled */
		return (int)(cp - 0x2776 + 1);
	for (i = 0; i < sizeof digit_zeros / sizeof digit_zeros[0]; i++)
		if (cp >= digit_zeros[i] && cp < digit_zeros[i] + 10)
			return (int)(cp - digit_zeros[i]);
	return -1;
}

/* What may stand between the digit groups of a written card number: white
 * space of any kind, dashes and hyphens, dots and middle dots, slashes,
 * underscores, stars, bars, the '+' that is a space in a form-encoded URL,
 * and the invisible characters (which a paste may carry along). Anything
 * else (a letter, a comma) ends the number. */
static int is_card_separator(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == '-' ||
	       cp == '.' || cp == '/' || cp == '_' || cp == '*' || cp == '|' ||
	       cp == '+' || cp == 0xFE62 || cp == 0xFF0B || cp == 0x00A0 ||
	       cp == 0x00B7 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2022 || cp == 0x2024 ||
	       cp == 0x2027 || cp == 0x202F || cp == 0x205F || cp == 0x2212 ||
	       cp == 0x2219 || cp == 0x22C5 || cp == 0x3000 || cp == 0x30FB ||
	       cp == 0xFE58 || cp == 0xFE63 || cp == 0xFF0D || cp == 0xFF0E ||
	       cp == 0xFF0F || cp == 0xFF3F || cp == 0xFF65 || is_invisible(cp);
}

static int luhn_ok(const unsigned char *d, size_t n)
{
	unsigned sum = 0, v;
	size_t i;

	for (i = 0; i < n; i++) {
		v = d[n - 1 - i];
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

/* The code point at s[*i] (n bytes in all), advancing *i; a byte that is
 * not UTF-8 reads as U+FFFD, so that the scan always moves on. */
static uint32_t next_cp(const char *s, size_t n, size_t *i)
{
	uint32_t cp;
	size_t len = utf8_seq((const unsigned char *)s + *i, n - *i, &cp);

	if (len == 0) {
		*i += 1;
		return 0xFFFD;
	}
	*i += len;
	return cp;
}

static int hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte that "%XX" at s[i] encodes, or -1. */
static int pct_byte(const char *s, size_t n, size_t i)
{
	int hi, lo;

	if (i >= n || n - i < 3 || s[i] != '%')
		return -1;
	hi = hex_value((unsigned char)s[i + 1]);
	lo = hi < 0 ? -1 : hex_value((unsigned char)s[i + 2]);
	return lo < 0 ? -1 : hi * 16 + lo;
}

/* next_cp, and when pct, a percent-encoded character ("%20", "%2D",
 * "%E2%80%8B") reads as the character it encodes; a "%XX" that is not
 * UTF-8 reads as U+FFFD. */
static uint32_t next_cp_in(const char *s, size_t n, size_t *i, int pct)
{
	unsigned char b[4];
	size_t want, k;
	uint32_t cp;
	int c;

	if (!pct || (c = pct_byte(s, n, *i)) < 0)
		return next_cp(s, n, i);
	b[0] = (unsigned char)c;
	want = c < 0x80	   ? 1
	       : c < 0xC2  ? 0
	       : c <= 0xDF ? 2
	       : c <= 0xEF ? 3
	       : c <= 0xF4 ? 4
			   : 0;
	for (k = 1; k < want; k++) {
		c = pct_byte(s, n, *i + 3 * k);
		if (c < 0)
			break;
		b[k] = (unsigned char)c;
	}
	if (want == 0 || k < want || utf8_seq(b, want, &cp) != want) {
		*i += 3;
		return 0xFFFD;
	}
	*i += 3 * want;
	return cp;
}

/* The scan of ident_has_card_number over s as written (pct 0) or with
 * its percent-encoding decoded (pct 1). */
static int card_scan(const char *s, size_t len, int pct)
{
	unsigned char d[19];
	size_t n, start, i;
	int found = 0, v, prev_digit = 0;
	uint32_t cp;

	/* From the start of every digit group, take whole groups while only
	 * separators stand between them: 13 to 19 digits that pass the Luhn
	 * check are a card number, so one written after an order number is
	 * still found. A longer unbroken digit string (an ID) is not. */
	for (start = 0; start < len && !found;) {
		size_t here = start;
		cp = next_cp_in(s, len, &start, pct);
		v = digit_value(cp);
		if (v < 0 || prev_digit) {
			prev_digit = v >= 0;
			continue;
		}
		prev_digit = 1;
		n = 0;
		for (i = here; i < len;) {
			size_t after;
			cp = next_cp_in(s, len, &i, pct);
			v = digit_value(cp);
			if (v < 0) {
				if (!is_card_separator(cp))
					break;
				continue;
			}
			if (n == sizeof d)
				break;
			d[n++] = (unsigned char)v;
			after = i;
			if (n >= 13 &&
			    (after >= len ||
			     digit_value(next_cp_in(s, len, &after, pct)) <
				     0) &&
			    luhn_ok(d, n)) {
				found = 1;
				break;
			}
		}
	}
	explicit_bzero(d, sizeof d);
	return found;
}

int ident_has_card_number(const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	/* A URL or a pasted query string writes the separators (and even
	 * the digits) percent-encoded: 4111%201111%201111%201111. The text
	 * is scanned as written too, because decoding may swallow a digit
	 * ("%41111...") that belongs to a card number as written. */
	return card_scan(s, len, 0) ||
	       (memchr(s, '%', len) != NULL && card_scan(s, len, 1));
}

static const char MSG_CARD[] =
	"text holds what looks like a full card number: a card number is "
	"never stored";
static const char MSG_INVISIBLE[] =
	"text has an invisible or direction-changing character";
static const char MSG_HETU[] =
	"text holds what looks like a HETU: use the hetu field, which is "
	"shown masked to the roles that may not see it whole";

const char *ident_text_hazard(const char *s)
{
	size_t i = 0, at, n = s == NULL ? 0 : strlen(s);
	uint32_t cp, prev = 0;

	while (i < n) {
		at = i;
		cp = next_cp(s, n, &i);
		if (invisible_in_lines(s, n, at, prev, cp, i - at))
			return MSG_INVISIBLE;
		prev = cp;
	}
	if (ident_has_card_number(s))
		return MSG_CARD;
	return ident_has_hetu(s) ? MSG_HETU : NULL;
}

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap(y))
		return 29;
	return dim[m - 1];
}

int ident_date_exists(int y, int m, int d)
{
	if (m < 1 || m > 12 || d < 1)
		return 0;
	return d <= days_in_month(y, m);
}

/* Howard Hinnant's algorithm; months outside 1..12 carry into the year and
 * day 0 or below counts back, so the function is total. */
int64_t ident_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y + floor_div((int64_t)m - 1, 12);
	int64_t mm = (int64_t)m - 1 - floor_div((int64_t)m - 1, 12) * 12 + 1;
	int64_t era, yoe, mp, doy, doe;

	yy -= mm <= 2;
	era = floor_div(yy, 400);
	yoe = yy - era * 400;
	mp = (mm + 9) % 12;
	doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void ident_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	/* Clamped so that the year fits in an int (and nothing overflows). */
	int64_t lo = ident_days_from_civil(INT_MIN, 1, 1);
	int64_t hi = ident_days_from_civil(INT_MAX, 12, 31);
	int64_t z, era, doe, yoe, yr, doy, mp, dd, mm;

	if (days < lo)
		days = lo;
	if (days > hi)
		days = hi;
	z = days + 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yr = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	dd = doy - (153 * mp + 2) / 5 + 1;
	mm = mp < 10 ? mp + 3 : mp - 9;
	yr += mm <= 2;
	if (y != NULL)
		*y = (int)yr;
	if (m != NULL)
		*m = (int)mm;
	if (d != NULL)
		*d = (int)dd;
}

/* YYYY-MM-DD into out[11]; years outside 1..9999 cannot be written so. */
static int format_date(int y, int m, int d, char out[11])
{
	if (y < 1 || y > 9999 || !ident_date_exists(y, m, d)) {
		out[0] = '\0';
		return -1;
	}
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

/* YYYY-MM-DD or D.M.YYYY (s is already trimmed). */
static int parse_date(const char *s, size_t n, int *y, int *m, int *d,
		      const char **why)
{
	if (n == 10 && s[4] == '-' && s[7] == '-' && all_digits(s, 4) &&
	    all_digits(s + 5, 2) && all_digits(s + 8, 2)) {
		*y = digits_value(s, 4);
		*m = digits_value(s + 5, 2);
		*d = digits_value(s + 8, 2);
	} else {
		const char *p1 = memchr(s, '.', n);
		const char *p2;
		size_t ld, lm, ly;

		if (p1 == NULL) {
			*why = "date must be YYYY-MM-DD or D.M.YYYY";
			return -1;
		}
		p2 = memchr(p1 + 1, '.', n - (size_t)(p1 + 1 - s));
		if (p2 == NULL) {
			*why = "date must be YYYY-MM-DD or D.M.YYYY";
			return -1;
		}
		ld = (size_t)(p1 - s);
		lm = (size_t)(p2 - p1 - 1);
		ly = n - (size_t)(p2 + 1 - s);
		if (ld < 1 || ld > 2 || lm < 1 || lm > 2 || ly != 4 ||
		    !all_digits(s, ld) || !all_digits(p1 + 1, lm) ||
		    !all_digits(p2 + 1, ly)) {
			*why = "date must be YYYY-MM-DD or D.M.YYYY";
			return -1;
		}
		*d = digits_value(s, ld);
		*m = digits_value(p1 + 1, lm);
		*y = digits_value(p2 + 1, ly);
	}
	if (*y < 1 || !ident_date_exists(*y, *m, *d)) {
		*why = "date does not exist";
		return -1;
	}
	return 0;
}

void ident_iso_utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

int ident_date(const char *in, char *out, size_t outsz, const char **why)
{
	const char *s;
	const char *msg = NULL;
	char buf[11];
	size_t n;
	int y, m, d;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (parse_date(s, n, &y, &m, &d, &msg) != 0)
		return fail(out, outsz, why, msg);
	(void)format_date(y, m, d, buf);
	return emit(out, outsz, why, buf, 10);
}

int ident_date_add(const char *date, int years, int months, int days,
		   char out[11])
{
	const char *s;
	const char *msg = NULL;
	size_t n;
	int y, m, d, dim;
	int64_t ym, ny, t;
	int nm;

	if (out == NULL)
		return -1;
	/* date is parsed before out is touched: they may be one buffer. */
	if (date == NULL)
		goto bad;
	trim(date, 0, &s, &n);
	if (parse_date(s, n, &y, &m, &d, &msg) != 0)
		goto bad;
	/* Months first, clamped to the month's end, then days: 2024-01-31
	 * plus one month is 2024-02-29, not a day in March. */
	ym = (int64_t)y * 12 + (m - 1) + (int64_t)years * 12 + months;
	ny = floor_div(ym, 12);
	nm = (int)(ym - ny * 12) + 1;
	if (ny < 1 || ny > 9999)
		goto bad;
	dim = days_in_month(ny, nm);
	if (d > dim)
		d = dim;
	t = ident_days_from_civil((int)ny, nm, d) + days;
	ident_civil_from_days(t, &y, &m, &d);
	return format_date(y, m, d, out);
bad:
	out[0] = '\0';
	return -1;
}

void ident_date_of(int64_t t, char out[11])
{
	int y, m, d;

	if (out == NULL)
		return;
	ident_civil_from_days(floor_div(t, SECS_PER_DAY), &y, &m, &d);
	(void)format_date(y, m, d, out);
}

/* ---- HETU ---- */

int ident_hetu(const char *in, int allow_temporary, char *out, size_t outsz,
	       const char **why)
{
	static const char checks[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
	const char *s;
	char buf[12];
	size_t n;
	int century, dd, mm, yy, ind;
	long num;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n != 11)
		return fail(out, outsz, why, "HETU must be 11 characters");
	if (!all_digits(s, 6) || !all_digits(s + 7, 3))
		return fail(out, outsz, why,
			    "HETU has a non-digit in a digit "
			    "position");
	switch (to_upper(s[6])) {
	case '+':
		century = 1800;
		break;
	case '-':
	case 'Y':
	case 'X':
	case 'W':
	case 'V':
	case 'U':
		century = 1900;
		break;
	case 'A':
	case 'B':
	case 'C':
	case 'D':
	case 'E':
	case 'F':
		century = 2000;
		break;
	default:
		return fail(out, outsz, why,
			    "HETU has an unknown century sign");
	}
	dd = digits_value(s, 2);
	mm = digits_value(s + 2, 2);
	yy = digits_value(s + 4, 2);
	if (!ident_date_exists(century + yy, mm, dd))
		return fail(out, outsz, why, "HETU date does not exist");
	ind = digits_value(s + 7, 3);
	if (ind < 2)
		return fail(out, outsz, why,
			    "HETU individual number 000 and 001 "
			    "are never issued");
	if (ind >= 900 && !allow_temporary)
		return fail(out, outsz, why,
			    "temporary HETU (900-999) not "
			    "allowed");
	num = ((long)dd * 10000 + mm * 100 + yy) * 1000 + ind;
	if (to_upper(s[10]) != checks[num % 31])
		return fail(out, outsz, why, "HETU check character is wrong");
	for (size_t i = 0; i < 11; i++)
		buf[i] = to_upper(s[i]);
	return emit(out, outsz, why, buf, 11);
}

int ident_hetu_birth_date(const char *hetu, char out[11])
{
	char canon[12];
	int y, century;

	if (out == NULL)
		return -1;
	/* out is cleared only after hetu is read: they may be one buffer. */
	if (hetu == NULL ||
	    ident_hetu(hetu, 1, canon, sizeof canon, NULL) != 0) {
		out[0] = '\0';
		return -1;
	}
	if (canon[6] == '+')
		century = 1800;
	else if (canon[6] >= 'A' && canon[6] <= 'F')
		century = 2000;
	else
		century = 1900;
	y = century + digits_value(canon + 4, 2);
	return format_date(y, digits_value(canon + 2, 2),
			   digits_value(canon, 2), out);
}

/* The ASCII character a code point stands for in a written HETU: digits
 * of any form, full-width letters, dashes and pluses of other widths;
 * 0 for a character that is skipped (an invisible one), 1 for any other. */
static char hetu_char(uint32_t cp)
{
	int v;

	if (cp < 0x80)
		return cp == 0 ? 1 : (char)cp;
	v = digit_value(cp);
	if (v >= 0)
		return (char)('0' + v);
	if (cp >= 0xFF21 && cp <= 0xFF3A)
		return (char)('A' + (cp - 0xFF21));
	if (cp >= 0xFF41 && cp <= 0xFF5A)
		return (char)('a' + (cp - 0xFF41));
	if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 || cp == 0xFE58 ||
	    cp == 0xFE63 || cp == 0xFF0D)
		return '-';
	if (cp == 0xFE62 || cp == 0xFF0B)
		return '+';
	return is_invisible(cp) ? 0 : 1;
}

#define HETU_LEN 11

int ident_has_hetu(const char *s)
{
	/* w[0] is the character before the candidate, w[1..11] the
	 * candidate: a HETU is not part of a longer number, and no letter or
	 * digit follows it. */
	char w[HETU_LEN + 1], cand[HETU_LEN + 1];
	size_t n, i = 0, have = 0;
	int found = 0;

	if (s == NULL)
		return 0;
	n = strlen(s);
	memset(w, ' ', sizeof w);
	while (!found) {
		int end = i >= n;
		char c = end ? ' ' : hetu_char(next_cp(s, n, &i));

		if (c == 0)
			continue;
		if (have >= HETU_LEN && !is_alnum((unsigned char)c) &&
		    !is_digit((unsigned char)w[0]) &&
		    is_digit((unsigned char)w[1])) {
			memcpy(cand, w + 1, HETU_LEN);
			cand[HETU_LEN] = '\0';
			found = ident_hetu(cand, 1, cand, sizeof cand, NULL) ==
				0;
		}
		if (end)
			break;
		memmove(w, w + 1, HETU_LEN);
		w[HETU_LEN] = c;
		have++;
	}
	explicit_bzero(w, sizeof w);
	explicit_bzero(cand, sizeof cand);
	return found;
}

/* ---- Y-tunnus ---- */

int ident_ytunnus(const char *in, char *out, size_t outsz, const char **why)
{
	static const int weights[7] = {7, 9, 10, 5, 8, 4, 2};
	const char *s;
	char buf[10];
	size_t n, body;
	int sum = 0, r, check;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n != 8 && n != 9)
		return fail(out, outsz, why, "Y-tunnus must be NNNNNNN-T");
	body = n - 2;
	if (s[body] != '-' || !all_digits(s, body) ||
	    !is_digit((unsigned char)s[n - 1]))
		return fail(out, outsz, why, "Y-tunnus must be NNNNNNN-T");
	/* An old 6-digit body is the same number with a leading zero. */
	buf[0] = '0';
	memcpy(buf + 7 - body, s, n);
	buf[9] = '\0';
	for (size_t i = 0; i < 7; i++)
		sum += weights[i] * (buf[i] - '0');
	r = sum % 11;
	if (r == 1)
		return fail(out, outsz, why,
			    "Y-tunnus body has no valid check "
			    "digit");
	check = r == 0 ? 0 : 11 - r;
	if (buf[8] - '0' != check)
		return fail(out, outsz, why, "Y-tunnus check digit is wrong");
	return emit(out, outsz, why, buf, 9);
}

/* ---- normalisation ---- */

/* The precomposed letters of Latin-1 and Latin Extended-A that are an
 * ASCII letter and one combining mark (their canonical decomposition), by
 * mark: what Finnish, Swedish and the other European languages of a
 * customer register write, and what a decomposed (NFD) paste gives. */
static const struct {
	uint16_t mark;
	char base;
	uint16_t composed;
} compositions[] = {
	{0x0300, 'A', 0x00C0}, {0x0300, 'E', 0x00C8}, {0x0300, 'I', 0x00CC},
	{0x0300, 'O', 0x00D2}, {0x0300, 'U', 0x00D9}, {0x0300, 'a', 0x00E0},
	{0x0300, 'e', 0x00E8}, {0x0300, 'i', 0x00EC}, {0x0300, 'o', 0x00F2},
	{0x0300, 'u', 0x00F9}, {0x0301, 'A', 0x00C1}, {0x0301, 'C', 0x0106},
	{0x0301, 'E', 0x00C9}, {0x0301, 'I', 0x00CD}, {0x0301, 'L', 0x0139},
	{0x0301, 'N', 0x0143}, {0x0301, 'O', 0x00D3}, {0x0301, 'R', 0x0154},
	{0x0301, 'S', 0x015A}, {0x0301, 'U', 0x00DA}, {0x0301, 'Y', 0x00DD},
	{0x0301, 'Z', 0x0179}, {0x0301, 'a', 0x00E1}, {0x0301, 'c', 0x0107},
	{0x0301, 'e', 0x00E9}, {0x0301, 'i', 0x00ED}, {0x0301, 'l', 0x013A},
	{0x0301, 'n', 0x0144}, {0x0301, 'o', 0x00F3}, {0x0301, 'r', 0x0155},
	{0x0301, 's', 0x015B}, {0x0301, 'u', 0x00FA}, {0x0301, 'y', 0x00FD},
	{0x0301, 'z', 0x017A}, {0x0302, 'A', 0x00C2}, {0x0302, 'C', 0x0108},
	{0x0302, 'E', 0x00CA}, {0x0302, 'G', 0x011C}, {0x0302, 'H', 0x0124},
	{0x0302, 'I', 0x00CE}, {0x0302, 'J', 0x0134}, {0x0302, 'O', 0x00D4},
	{0x0302, 'S', 0x015C}, {0x0302, 'U', 0x00DB}, {0x0302, 'W', 0x0174},
	{0x0302, 'Y', 0x0176}, {0x0302, 'a', 0x00E2}, {0x0302, 'c', 0x0109},
	{0x0302, 'e', 0x00EA}, {0x0302, 'g', 0x011D}, {0x0302, 'h', 0x0125},
	{0x0302, 'i', 0x00EE}, {0x0302, 'j', 0x0135}, {0x0302, 'o', 0x00F4},
	{0x0302, 's', 0x015D}, {0x0302, 'u', 0x00FB}, {0x0302, 'w', 0x0175},
	{0x0302, 'y', 0x0177}, {0x0303, 'A', 0x00C3}, {0x0303, 'I', 0x0128},
	{0x0303, 'N', 0x00D1}, {0x0303, 'O', 0x00D5}, {0x0303, 'U', 0x0168},
	{0x0303, 'a', 0x00E3}, {0x0303, 'i', 0x0129}, {0x0303, 'n', 0x00F1},
	{0x0303, 'o', 0x00F5}, {0x0303, 'u', 0x0169}, {0x0304, 'A', 0x0100},
	{0x0304, 'E', 0x0112}, {0x0304, 'I', 0x012A}, {0x0304, 'O', 0x014C},
	{0x0304, 'U', 0x016A}, {0x0304, 'a', 0x0101}, {0x0304, 'e', 0x0113},
	{0x0304, 'i', 0x012B}, {0x0304, 'o', 0x014D}, {0x0304, 'u', 0x016B},
	{0x0306, 'A', 0x0102}, {0x0306, 'E', 0x0114}, {0x0306, 'G', 0x011E},
	{0x0306, 'I', 0x012C}, {0x0306, 'O', 0x014E}, {0x0306, 'U', 0x016C},
	{0x0306, 'a', 0x0103}, {0x0306, 'e', 0x0115}, {0x0306, 'g', 0x011F},
	{0x0306, 'i', 0x012D}, {0x0306, 'o', 0x014F}, {0x0306, 'u', 0x016D},
	{0x0307, 'C', 0x010A}, {0x0307, 'E', 0x0116}, {0x0307, 'G', 0x0120},
	{0x0307, 'I', 0x0130}, {0x0307, 'Z', 0x017B}, {0x0307, 'c', 0x010B},
	{0x0307, 'e', 0x0117}, {0x0307, 'g', 0x0121}, {0x0307, 'z', 0x017C},
	{0x0308, 'A', 0x00C4}, {0x0308, 'E', 0x00CB}, {0x0308, 'I', 0x00CF},
	{0x0308, 'O', 0x00D6}, {0x0308, 'U', 0x00DC}, {0x0308, 'Y', 0x0178},
	{0x0308, 'a', 0x00E4}, {0x0308, 'e', 0x00EB}, {0x0308, 'i', 0x00EF},
	{0x0308, 'o', 0x00F6}, {0x0308, 'u', 0x00FC}, {0x0308, 'y', 0x00FF},
	{0x030A, 'A', 0x00C5}, {0x030A, 'U', 0x016E}, {0x030A, 'a', 0x00E5},
	{0x030A, 'u', 0x016F}, {0x030B, 'O', 0x0150}, {0x030B, 'U', 0x0170},
	{0x030B, 'o', 0x0151}, {0x030B, 'u', 0x0171}, {0x030C, 'C', 0x010C},
	{0x030C, 'D', 0x010E}, {0x030C, 'E', 0x011A}, {0x030C, 'L', 0x013D},
	{0x030C, 'N', 0x0147}, {0x030C, 'R', 0x0158}, {0x030C, 'S', 0x0160},
	{0x030C, 'T', 0x0164}, {0x030C, 'Z', 0x017D}, {0x030C, 'c', 0x010D},
	{0x030C, 'd', 0x010F}, {0x030C, 'e', 0x011B}, {0x030C, 'l', 0x013E},
	{0x030C, 'n', 0x0148}, {0x030C, 'r', 0x0159}, {0x030C, 's', 0x0161},
	{0x030C, 't', 0x0165}, {0x030C, 'z', 0x017E}, {0x0327, 'C', 0x00C7},
	{0x0327, 'G', 0x0122}, {0x0327, 'K', 0x0136}, {0x0327, 'L', 0x013B},
	{0x0327, 'N', 0x0145}, {0x0327, 'R', 0x0156}, {0x0327, 'S', 0x015E},
	{0x0327, 'T', 0x0162}, {0x0327, 'c', 0x00E7}, {0x0327, 'g', 0x0123},
	{0x0327, 'k', 0x0137}, {0x0327, 'l', 0x013C}, {0x0327, 'n', 0x0146},
	{0x0327, 'r', 0x0157}, {0x0327, 's', 0x015F}, {0x0327, 't', 0x0163},
	{0x0328, 'A', 0x0104}, {0x0328, 'E', 0x0118}, {0x0328, 'I', 0x012E},
	{0x0328, 'U', 0x0172}, {0x0328, 'a', 0x0105}, {0x0328, 'e', 0x0119},
	{0x0328, 'i', 0x012F}, {0x0328, 'u', 0x0173},
};

/* The letter that base followed by combining mark is, or 0. */
static uint32_t compose(uint32_t base, uint32_t mark)
{
	if (base >= 0x80 || mark < 0x0300 || mark > 0x0328)
		return 0;
	for (size_t i = 0; i < sizeof compositions / sizeof compositions[0];
	     i++)
		if (compositions[i].mark == mark &&
		    (uint32_t)(unsigned char)compositions[i].base == base)
			return compositions[i].composed;
	return 0;
}

/* Lower case of the Latin letters (ASCII, Latin-1, Latin Extended-A); any
 * other code point as it is. U+0130 (capital I with dot) has no one-letter
 * lower case and stays. */
static uint32_t latin_lower(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 0x20;
	if (((cp >= 0x0100 && cp <= 0x012F) || (cp >= 0x0132 && cp <= 0x0137) ||
	     (cp >= 0x014A && cp <= 0x0177)) &&
	    cp % 2 == 0)
		return cp + 1;
	if (((cp >= 0x0139 && cp <= 0x0148) ||
	     (cp >= 0x0179 && cp <= 0x017E)) &&
	    cp % 2 == 1)
		return cp + 1;
	if (cp == 0x0178)
		return 0x00FF;
	return cp;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Normalises the n bytes at src into dst and returns their new length,
 * which is never more than n: an ASCII letter followed by a combining mark
 * that makes a Latin-1 or Latin Extended-A letter becomes that letter (the
 * NFC of what matters here). For an address (email), also full-width
 * ASCII becomes ASCII, the ideographic full stops become '.', and Latin
 * letters are lower-cased. A byte that is not UTF-8 is kept as it is (the
 * caller refuses it). dst NULL only counts; dst may be src, or before it
 * in the same buffer, since no byte is written before it is read. */
static size_t fold_to(const char *src, size_t n, char *dst, int email)
{
	size_t r = 0, w = 0, prev_at = 0;
	uint32_t cp, c, prev = 0x110000; /* none */
	char tmp[4] = {0};

	/* Speed: plain ASCII (nearly every address) has no mark to compose
	 * and nothing full-width; only its capitals change. A look-up spent
	 * a tenth of its own instructions decoding it as UTF-8. */
	while (r < n && (unsigned char)src[r] < 0x80)
		r++;
	if (r == n) {
		for (r = 0; dst != NULL && r < n; r++)
			dst[r] = email && src[r] >= 'A' && src[r] <= 'Z'
					 ? (char)(src[r] + 32)
					 : src[r];
		return n;
	}
	r = 0;
	while (r < n) {
		size_t len =
			utf8_seq((const unsigned char *)src + r, n - r, &cp);

		if (len == 0) {
			if (dst != NULL)
				dst[w] = src[r];
			w++;
			r++;
			prev = 0x110000;
			continue;
		}
		r += len;
		if (email && cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		else if (email && (cp == 0x3002 || cp == 0xFF61))
			cp = '.';
		c = prev < 0x80 ? compose(prev, cp) : 0;
		if (c != 0) {
			w = prev_at;
			prev = 0x110000;
			cp = c;
		} else {
			prev = cp;
			prev_at = w;
		}
		w += utf8_put(email ? latin_lower(cp) : cp,
			      dst != NULL ? dst + w : tmp);
	}
	return w;
}

/* ---- e-mail ---- */

/* Local part: dot-atom (RFC 5322) plus UTF-8 (RFC 6531); quoted local parts
 * are refused because no real mailbox in a customer register needs them. */
static const char *check_local(const char *s, size_t n)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";

	if (n == 0)
		return "e-mail local part is empty";
	if (n > LOCAL_MAX)
		return "e-mail local part is too long";
	if (s[0] == '.' || s[n - 1] == '.')
		return "e-mail local part starts or ends with a dot";
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t len;

		if (c == '.') {
			if (s[i + 1] == '.')
				return "e-mail has two dots in a row";
			i++;
			continue;
		}
		if (c < 0x80) {
			if (!is_alnum(c) &&
			    memchr(atext, c, sizeof atext - 1) == NULL)
				return "e-mail local part has an invalid "
				       "character";
			i++;
			continue;
		}
		len = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (len == 0)
			return "e-mail is not valid UTF-8";
		if (is_control(cp))
			return "e-mail has a control character";
		if (is_invisible(cp))
			return "e-mail has an invisible or direction-changing "
			       "character";
		i += len;
	}
	return NULL;
}

/* Domain: two or more LDH labels (UTF-8 allowed for IDN); a numeric last
 * label is refused so that bare IP addresses do not pass. */
static const char *check_domain(const char *s, size_t n)
{
	size_t label = 0, labels = 0, last = 0;
	int last_numeric = 1;

	/* No length check of its own: the 254-byte address limit keeps the
	 * domain within the 253 bytes DNS allows. */
	if (n == 0)
		return "e-mail domain is empty";
	for (size_t i = 0; i <= n;) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';
		uint32_t cp;
		size_t len;

		if (c == '.') {
			if (label == 0)
				return "e-mail domain has an empty label";
			if (s[i - 1] == '-' || s[last] == '-')
				return "e-mail domain label starts or ends "
				       "with a hyphen";
			labels++;
			last_numeric = all_digits(s + last, label);
			label = 0;
			last = ++i;
			continue;
		}
		if (c < 0x80) {
			if (!is_alnum(c) && c != '-')
				return "e-mail domain has an invalid character";
			len = 1;
		} else {
			len = utf8_seq((const unsigned char *)s + i, n - i,
				       &cp);
			if (len == 0)
				return "e-mail is not valid UTF-8";
			if (is_control(cp))
				return "e-mail has a control character";
			if (is_invisible(cp))
				return "e-mail has an invisible or "
				       "direction-changing character";
		}
		label += len;
		if (label > LABEL_MAX)
			return "e-mail domain label is too long";
		i += len;
	}
	if (labels < 2)
		return "e-mail domain must have a dot";
	if (last_numeric)
		return "e-mail top-level domain is numeric";
	return NULL;
}

/* Whether the n bytes at s (valid UTF-8) hold a combining diacritical
 * mark (U+0300-036F). */
static int has_combining_mark(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp = next_cp(s, n, &i);
		if (cp >= 0x0300 && cp <= 0x036F)
			return 1;
	}
	return 0;
}

int ident_email(const char *in, char *out, size_t outsz, const char **why)
{
	const char *s;
	const char *at;
	const char *msg;
	/* Full-width characters fold to a third of their bytes. */
	char buf[3 * EMAIL_MAX + 1];
	size_t n, lp;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n > sizeof buf - 1)
		return fail(out, outsz, why, "e-mail is too long");
	/* One form per address for the blind index, so that a look-up finds
	 * it however it was typed: decomposed letters (NFD, as macOS and
	 * many pastes give them) composed, full-width ASCII and ideographic
	 * full stops folded (as IDNA maps them), Latin letters lower-cased
	 * (mailbox names are case-insensitive in practice, and domain names
	 * always are). */
	memcpy(buf, s, n);
	n = fold_to(buf, n, buf, 1);
	buf[n] = '\0';
	s = buf;
	if (n > EMAIL_MAX)
		return fail(out, outsz, why, "e-mail is too long");
	at = memchr(s, '@', n);
	if (at == NULL)
		return fail(out, outsz, why, "e-mail has no @");
	lp = (size_t)(at - s);
	if (memchr(at + 1, '@', n - lp - 1) != NULL)
		return fail(out, outsz, why, "e-mail has more than one @");
	msg = check_local(s, lp);
	if (msg == NULL)
		msg = check_domain(at + 1, n - lp - 1);
	if (msg != NULL)
		return fail(out, outsz, why, msg);
	/* A mark that did not join its letter would make a second form of
	 * the same address that no look-up finds. */
	if (has_combining_mark(s, n))
		return fail(out, outsz, why,
			    "e-mail has an accent that is not part of its "
			    "letter: write the address with composed letters "
			    "(NFC)");
	return emit(out, outsz, why, buf, n);
}

/* ---- phone ---- */

int ident_phone(const char *in, const char *cc, char *out, size_t outsz,
		const char **why)
{
	/* "00" + 15 digits is the longest useful input. */
	char raw[E164_MAX + 3];
	char buf[E164_MAX + 2];
	const char *s;
	const char *digits;
	size_t n, nraw = 0, ndig, ncc = 0, i = 0;
	int plus = 0, trunk_dropped = 0;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (s[0] == '+') {
		plus = 1;
		i = 1;
	}
	for (; i < n; i++) {
		char c = s[i];

		/* "+358 (0)40 ..." writes the trunk 0 that an international
		 * number drops; keeping it would dial a different number.
		 * There is only one trunk prefix, so only one "(0)". */
		if (c == '(' && !trunk_dropped && i + 2 < n &&
		    s[i + 1] == '0' && s[i + 2] == ')' &&
		    ((plus && nraw > 0) ||
		     (nraw > 2 && raw[0] == '0' && raw[1] == '0'))) {
			i += 2;
			trunk_dropped = 1;
			continue;
		}
		if (is_digit((unsigned char)c)) {
			if (nraw == sizeof raw)
				return fail(out, outsz, why,
					    "phone number is too long");
			raw[nraw++] = c;
		} else if (c == '+') {
			return fail(out, outsz, why,
				    "phone number has + after the start");
		} else if (c != ' ' && c != '-' && c != '.' && c != '(' &&
			   c != ')') {
			return fail(out, outsz, why,
				    "phone number has an invalid character");
		}
	}
	if (nraw == 0)
		return fail(out, outsz, why, "phone number has no digits");
	if (plus) {
		digits = raw;
		ndig = nraw;
	} else if (nraw >= 2 && raw[0] == '0' && raw[1] == '0') {
		digits = raw + 2;
		ndig = nraw - 2;
	} else if (raw[0] == '0') {
		if (cc != NULL)
			ncc = strlen(cc);
		if (ncc < 1 || ncc > 3 || !all_digits(cc, ncc) || cc[0] == '0')
			return fail(out, outsz, why,
				    "national phone number needs a valid "
				    "country code");
		if (nraw - 1 < NSN_MIN)
			return fail(out, outsz, why,
				    "phone number is too short");
		digits = raw + 1;
		ndig = nraw - 1;
	} else {
		return fail(out, outsz, why,
			    "phone number must start with +, 00 or 0");
	}
	if (ncc == 0 && (ndig == 0 || digits[0] == '0'))
		return fail(out, outsz, why,
			    "phone country code cannot start with 0");
	if (ncc + ndig < E164_MIN)
		return fail(out, outsz, why, "phone number is too short");
	if (ncc + ndig > E164_MAX)
		return fail(out, outsz, why, "phone number is too long");
	buf[0] = '+';
	memcpy(buf + 1, cc != NULL ? cc : "", ncc);
	memcpy(buf + 1 + ncc, digits, ndig);
	return emit(out, outsz, why, buf, 1 + ncc + ndig);
}

/* ---- small ones ---- */

int ident_postal_code(const char *in, char *out, size_t outsz, const char **why)
{
	const char *s;
	size_t n;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n != 5 || !all_digits(s, 5))
		return fail(out, outsz, why, "postal code must be five digits");
	return emit(out, outsz, why, s, 5);
}

/* The officially assigned ISO 3166-1 alpha-2 codes (249, as of the 2024
 * list), two letters each, in order. Reserved and user-assigned codes (EU,
 * UK, XK, ZZ ...) are not countries of a postal address. */
static const char iso3166_alpha2[] =
	"ADAEAFAGAIALAMAOAQARASATAUAWAXAZ"
	"BABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
	"CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZ"
	"DEDJDKDMDODZ"
	"ECEEEGEHERESET"
	"FIFJFKFMFOFR"
	"GAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY"
	"HKHMHNHRHTHU"
	"IDIEILIMINIOIQIRISIT"
	"JEJMJOJP"
	"KEKGKHKIKMKNKPKRKWKYKZ"
	"LALBLCLILKLRLSLTLULVLY"
	"MAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZ"
	"NANCNENFNGNINLNONPNRNUNZ"
	"OM"
	"PAPEPFPGPHPKPLPMPNPRPSPTPWPY"
	"QA"
	"RERORSRURW"
	"SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZ"
	"TCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZ"
	"UAUGUMUSUYUZ"
	"VAVCVEVGVIVNVU"
	"WFWS"
	"YEYT"
	"ZAZMZW";

int ident_country_known(const char *code)
{
	size_t lo = 0, hi = (sizeof iso3166_alpha2 - 1) / 2;

	if (code == NULL || !is_upper((unsigned char)code[0]) ||
	    !is_upper((unsigned char)code[1]) || code[2] != '\0')
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(iso3166_alpha2 + 2 * mid, code, 2);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int ident_country(const char *in, char *out, size_t outsz, const char **why)
{
	const char *s;
	char buf[3];
	size_t n;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n != 2 ||
	    !(is_upper((unsigned char)s[0]) || is_lower((unsigned char)s[0])) ||
	    !(is_upper((unsigned char)s[1]) || is_lower((unsigned char)s[1])))
		return fail(out, outsz, why,
			    "country code must be two letters");
	buf[0] = to_upper(s[0]);
	buf[1] = to_upper(s[1]);
	buf[2] = '\0';
	if (!ident_country_known(buf))
		return fail(out, outsz, why,
			    "not an assigned ISO 3166-1 country code");
	return emit(out, outsz, why, buf, 2);
}

#define MEDIA_SUBTYPE_MAX 64
#define MEDIA_DIGIT_RUN	  4
#define MEDIA_DIGITS	  8

int ident_media_type(const char *in, char *out, size_t outsz, const char **why)
{
	static const char *const types[] = {
		"application", "audio",	    "font", "image", "message",
		"model",       "multipart", "text", "video",
	};
	static const char MSG_MEDIA[] =
		"a media type is type/subtype, e.g. audio/ogg";
	char buf[16 + MEDIA_SUBTYPE_MAX];
	const char *s;
	const char *slash;
	size_t n, tn, i, run = 0, digits = 0;
	int known = 0;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	slash = memchr(s, '/', n);
	if (slash == NULL)
		return fail(out, outsz, why, MSG_MEDIA);
	tn = (size_t)(slash - s);
	if (n - tn - 1 == 0 || n - tn - 1 > MEDIA_SUBTYPE_MAX)
		return fail(out, outsz, why, MSG_MEDIA);
	for (i = 0; i < sizeof types / sizeof types[0] && !known; i++) {
		size_t k = strlen(types[i]);
		if (k == tn) {
			known = 1;
			for (size_t j = 0; j < k && known; j++)
				known = to_lower(s[j]) == types[i][j];
		}
	}
	if (!known)
		return fail(out, outsz, why,
			    "a media type's type is one of application, "
			    "audio, font, image, message, model, multipart, "
			    "text or video");
	for (i = tn + 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_digit(c)) {
			if (++run > MEDIA_DIGIT_RUN || ++digits > MEDIA_DIGITS)
				return fail(out, outsz, why,
					    "a media type's subtype has too "
					    "many digits to be one");
			continue;
		}
		run = 0;
		if (!is_alnum(c) &&
		    (i == tn + 1 || (c != '.' && c != '+' && c != '-')))
			return fail(out, outsz, why, MSG_MEDIA);
	}
	for (i = 0; i < n; i++)
		buf[i] = to_lower(s[i]);
	return emit(out, outsz, why, buf, n);
}

int ident_text(const char *in, size_t maxlen, char *out, size_t outsz,
	       const char **why)
{
	const char *s;
	size_t n, m;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 1, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n > maxlen)
		return fail(out, outsz, why, "text is too long");
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_seq((const unsigned char *)s + i, n - i, &cp);

		if (len == 0)
			return fail(out, outsz, why, "text is not valid UTF-8");
		if (is_control(cp))
			return fail(out, outsz, why,
				    "text has a control character");
		if (is_invisible(cp))
			return fail(out, outsz, why, MSG_INVISIBLE);
		i += len;
	}
	if (ident_has_card_number(s))
		return fail(out, outsz, why, MSG_CARD);
	if (ident_has_hetu(s))
		return fail(out, outsz, why, MSG_HETU);
	/* Decomposed letters composed: a name or a user name typed on a
	 * Mac is the same as one typed elsewhere. out is in or another
	 * buffer, so it never starts after s. */
	m = fold_to(s, n, NULL, 0);
	if (m >= outsz)
		return fail(out, outsz, why, MSG_SMALL);
	out[fold_to(s, n, out, 0)] = '\0';
	return 0;
}

int ident_text_lines(const char *in, size_t maxlen, char *out, size_t outsz,
		     const char **why)
{
	const char *s;
	size_t n, o = 0;
	uint32_t prev = 0;

	if (in == NULL || out == NULL || outsz == 0)
		return fail(out, outsz, why, MSG_ARG);
	trim(in, 0, &s, &n);
	if (n == 0)
		return fail(out, outsz, why, MSG_EMPTY);
	if (n > maxlen)
		return fail(out, outsz, why, "text is too long");
	if (n >= outsz)
		return fail(out, outsz, why, MSG_SMALL);
	/* Validate everything before writing: out may be in. */
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_seq((const unsigned char *)s + i, n - i, &cp);

		if (len == 0)
			return fail(out, outsz, why, "text is not valid UTF-8");
		if (is_control(cp) && cp != '\n' && cp != '\t' &&
		    !(cp == '\r' && i + 1 < n && s[i + 1] == '\n'))
			return fail(out, outsz, why,
				    "text has a control character");
		if (invisible_in_lines(s, n, i, prev, cp, len))
			return fail(out, outsz, why, MSG_INVISIBLE);
		prev = cp;
		i += len;
	}
	if (ident_has_card_number(s))
		return fail(out, outsz, why, MSG_CARD);
	if (ident_has_hetu(s))
		return fail(out, outsz, why, MSG_HETU);
	/* Line ends are kept as "\n": a form's "\r\n" loses its "\r". */
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			out[o++] = s[i];
	out[fold_to(out, o, out, 0)] = '\0';
	return 0;
}

/* ---- Finnish calendar ---- */

#define GREGORIAN_FIRST 1583 /* the first whole Gregorian year */

int ident_easter(int y, int *m, int *d)
{
	int a, b, c, dd, e, f, g, h, i, k, l, mm;

	if (y < GREGORIAN_FIRST || y > 9999)
		return -1;
	/* The anonymous Gregorian algorithm (Meeus, Jones, Butcher). */
	a = y % 19;
	b = y / 100;
	c = y % 100;
	dd = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - dd - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	mm = (a + 11 * h + 22 * l) / 451;
	*m = (h + l - 7 * mm + 114) / 31;
	*d = (h + l - 7 * mm + 114) % 31 + 1;
	return 0;
}

int ident_weekday(int y, int m, int d)
{
	/* 1970-01-01 was a Thursday (4). */
	int64_t w = (ident_days_from_civil(y, m, d) + 3) % 7;

	if (w < 0)
		w += 7;
	return (int)w + 1;
}

static const char *const fi_holiday_names[] = {
	[IDENT_FI_NEW_YEAR] = "New Year's Day",
	[IDENT_FI_EPIPHANY] = "Epiphany",
	[IDENT_FI_GOOD_FRIDAY] = "Good Friday",
	[IDENT_FI_EASTER_SUNDAY] = "Easter Sunday",
	[IDENT_FI_EASTER_MONDAY] = "Easter Monday",
	[IDENT_FI_MAY_DAY] = "May Day",
	[IDENT_FI_ASCENSION] = "Ascension Day",
	[IDENT_FI_WHITSUNDAY] = "Whitsunday",
	[IDENT_FI_MIDSUMMER_EVE] = "Midsummer Eve",
	[IDENT_FI_MIDSUMMER_DAY] = "Midsummer Day",
	[IDENT_FI_ALL_SAINTS] = "All Saints' Day",
	[IDENT_FI_INDEPENDENCE] = "Independence Day",
	[IDENT_FI_CHRISTMAS_EVE] = "Christmas Eve",
	[IDENT_FI_CHRISTMAS_DAY] = "Christmas Day",
	[IDENT_FI_ST_STEPHEN] = "St Stephen's Day",
};

const char *ident_fi_holiday_name(int kind)
{
	if (kind <= 0 || (size_t)kind >= sizeof fi_holiday_names /
						 sizeof fi_holiday_names[0])
		return NULL;
	return fi_holiday_names[kind];
}

/* The holidays on the same date every year: month, day, which. */
static const struct {
	int m, d, kind;
} fi_fixed[] = {
	{1, 1, IDENT_FI_NEW_YEAR},	  {1, 6, IDENT_FI_EPIPHANY},
	{5, 1, IDENT_FI_MAY_DAY},	  {12, 6, IDENT_FI_INDEPENDENCE},
	{12, 24, IDENT_FI_CHRISTMAS_EVE}, {12, 25, IDENT_FI_CHRISTMAS_DAY},
	{12, 26, IDENT_FI_ST_STEPHEN},
};

int ident_fi_holiday(int y, int m, int d)
{
	int em, ed, wd;
	int64_t t, easter;

	if (y < GREGORIAN_FIRST || y > 9999 || !ident_date_exists(y, m, d))
		return IDENT_FI_NONE;
	/* Fixed dates first. */
	for (size_t i = 0; i < sizeof fi_fixed / sizeof fi_fixed[0]; i++)
		if (m == fi_fixed[i].m && d == fi_fixed[i].d)
			return fi_fixed[i].kind;
	/* The weekday-bound ones: a window of seven days holds exactly one
	 * Friday and one Saturday. */
	wd = ident_weekday(y, m, d);
	if (m == 6 && d >= 19 && d <= 25 && wd == 5)
		return IDENT_FI_MIDSUMMER_EVE;
	if (m == 6 && d >= 20 && d <= 26 && wd == 6)
		return IDENT_FI_MIDSUMMER_DAY;
	if (((m == 10 && d == 31) || (m == 11 && d <= 6)) && wd == 6)
		return IDENT_FI_ALL_SAINTS;
	/* Those that follow Easter. */
	if (ident_easter(y, &em, &ed) != 0)
		return IDENT_FI_NONE;
	easter = ident_days_from_civil(y, em, ed);
	t = ident_days_from_civil(y, m, d) - easter;
	if (t == -2)
		return IDENT_FI_GOOD_FRIDAY;
	if (t == 0)
		return IDENT_FI_EASTER_SUNDAY;
	if (t == 1)
		return IDENT_FI_EASTER_MONDAY;
	if (t == 39)
		return IDENT_FI_ASCENSION;
	if (t == 49)
		return IDENT_FI_WHITSUNDAY;
	return IDENT_FI_NONE;
}

int ident_fi_working_day(int y, int m, int d)
{
	if (y < GREGORIAN_FIRST || y > 9999 || !ident_date_exists(y, m, d))
		return 0;
	return ident_weekday(y, m, d) <= 5 && ident_fi_holiday(y, m, d) == 0;
}

/* A run of non-working days is at most four long (Good Friday to Easter
 * Monday, Christmas Eve on a Thursday to the Sunday after); a bound keeps
 * the walk finite whatever the table says. */
#define DUE_WALK_MAX 14

int ident_due_date(const char *received, int months, char out[11])
{
	char base[11];
	int y, m, d, i;
	int64_t t;

	if (out == NULL)
		return -1;
	if (months < 0 || months > 1200 ||
	    ident_date_add(received, 0, months, 0, base) != 0)
		goto bad;
	y = digits_value(base, 4);
	m = digits_value(base + 5, 2);
	d = digits_value(base + 8, 2);
	if (y < GREGORIAN_FIRST)
		goto bad;
	t = ident_days_from_civil(y, m, d);
	for (i = 0; i <= DUE_WALK_MAX; i++) {
		ident_civil_from_days(t, &y, &m, &d);
		if (y > 9999)
			goto bad;
		if (ident_fi_working_day(y, m, d))
			return format_date(y, m, d, out);
		t++;
	}
bad:
	out[0] = '\0';
	return -1;
}

/* ---- the EU and the EEA ----------------------------------------------------
 */

int ident_country_in_eea(const char *code)
{
	static const char *const eea[] = {
		"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR",
		"DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL",
		"PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"};

	for (size_t i = 0; code != NULL && i < sizeof eea / sizeof eea[0]; i++)
		if (strcmp(code, eea[i]) == 0)
			return 1;
	return 0;
}
