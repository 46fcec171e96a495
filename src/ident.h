/*
 * ident.h: Finnish and common identifiers: parse, validate, normalise.
 *
 * Every function returns 0 when the input is valid and writes its canonical
 * form (NUL-terminated) to out; otherwise it returns -1, sets *why to a static
 * message that never quotes the input, and leaves out as an empty string.
 * out must hold at least outsz bytes; too small an outsz is an error. out
 * may be the same buffer as in. Leading and trailing white space is ignored.
 */
#ifndef RK_IDENT_H
#define RK_IDENT_H

#include <stddef.h>
#include <stdint.h>

/* HETU DDMMYYCZZZQ with every century sign of the 2023 reform. The sign is
 * kept as given: 010190Y246L and 010190W246L stay different. Individual
 * numbers 900-999 are temporary codes, refused unless allow_temporary.
 * Canonical form: the 11 characters, letters upper-cased. */
int ident_hetu(const char *in, int allow_temporary, char *out, size_t outsz,
	       const char **why);
/* Birth date of a valid HETU (temporary codes included) as YYYY-MM-DD
 * (out: 11 bytes); -1 and "" if hetu is not valid. */
int ident_hetu_birth_date(const char *hetu, char out[11]);

/* Y-tunnus NNNNNNN-T (weights 7,9,10,5,8,4,2; the hyphen is required).
 * Canonical: as written, with a leading zero added to a 6-digit body. */
int ident_ytunnus(const char *in, char *out, size_t outsz, const char **why);

/* E-mail address: trimmed, one @, a dotted domain, no spaces, control or
 * invisible characters, at most 254 bytes. One form per address, so that
 * a look-up finds it however it was typed: full-width ASCII folded to
 * ASCII and the ideographic full stops to '.', an ASCII letter followed
 * by a combining mark composed into its Latin-1 or Latin Extended-A
 * letter (NFC for them), and the Latin letters (ASCII, Latin-1, Latin
 * Extended-A) lower-cased. A combining mark (U+0300-036F) that is left
 * over is refused: that form could not be looked up. */
int ident_email(const char *in, char *out, size_t outsz, const char **why);

/* Phone number to E.164: "+" and 7-15 digits. Spaces, dashes, dots and
 * parentheses are dropped, and so is the trunk 0 in "+358 (0)40 ...";
 * "00" prefix means "+"; a national number with a leading 0 (and at least
 * six digits after it) gets country calling code cc (1-3 digits, e.g.
 * "358"). A number without +, 00 or 0 in front is refused. */
int ident_phone(const char *in, const char *cc, char *out, size_t outsz,
		const char **why);

/* Finnish postal code: exactly five digits. */
int ident_postal_code(const char *in, char *out, size_t outsz,
		      const char **why);

/* Calendar date: YYYY-MM-DD or D.M.YYYY; must exist (leap years honoured).
 * Canonical: YYYY-MM-DD (out: at least 11 bytes). */
int ident_date(const char *in, char *out, size_t outsz, const char **why);
/* t (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ" in UTC into out; the epoch
 * when t cannot be shown. */
void ident_iso_utc(int64_t t, char out[32]);

/* ISO 3166-1 alpha-2 country code, upper-cased; only the officially
 * assigned codes (not reserved or user-assigned ones such as EU or XK). */
int ident_country(const char *in, char *out, size_t outsz, const char **why);
/* Whether code is an assigned ISO 3166-1 alpha-2 code ("FI"; upper case,
 * exactly two letters). */
int ident_country_known(const char *code);

/* Plain text: valid UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), no control characters at all (C0 including tab and
 * newline, DEL, C1), no invisible or direction-changing characters
 * (bidirectional controls U+202A-202E and U+2066-2069, U+200B-200F,
 * U+2060-2064, U+FEFF, the line and paragraph separators, ...), no full
 * card number (ident_has_card_number), no HETU (ident_has_hetu),
 * 1..maxlen bytes after trimming ASCII spaces. Canonical: the trimmed copy,
 * with an ASCII letter followed by a combining mark composed into its
 * Latin-1 or Latin Extended-A letter (a decomposed "a" and U+0308 is
 * "\u00e4"), so that a name or user name typed in NFD is the same. */
int ident_text(const char *in, size_t maxlen, char *out, size_t outsz,
	       const char **why);
/* The same for text of several lines: tabs and line feeds are allowed, and
 * a carriage return only before a line feed, where it is dropped; and an
 * emoji or text presentation selector (U+FE0F, U+FE0E) directly after a
 * symbol or pictograph (or in a keycap sequence), as a phone's keyboard
 * writes a heart. Every other variation selector is refused. */
int ident_text_lines(const char *in, size_t maxlen, char *out, size_t outsz,
		     const char **why);

/* Whether s holds a full card number: 13 to 19 digits passing the Luhn
 * check, in groups separated only by white space, dashes, dots, slashes,
 * underscores, '+' (a space in a form-encoded URL) or invisible
 * characters, in any of Unicode's decimal digit forms (ASCII, full-width,
 * Arabic-Indic, Devanagari, ...) and the superscript, subscript and
 * circled digits. Percent-encoded characters ("%20", "%2D", "%E2%80%8B",
 * "%34") count as what they encode; s is scanned both so and as written.
 * A longer unbroken digit string is not one, not even when its first
 * digits pass the check (a card number with its expiry glued on cannot be
 * told from a long reference number or a SIM's ICCID). s is UTF-8 (a byte
 * that is not counts as a letter). */
int ident_has_card_number(const char *s);

/* Whether s holds a valid HETU (ident_hetu, temporary numbers included)
 * that is not part of a longer number and is not followed by a letter or
 * digit; digits of any form (as in ident_has_card_number), full-width
 * letters and other dashes count as their ASCII selves, and invisible
 * characters are skipped. Free text must not carry one: the hetu field is
 * the one that is masked for the roles that may not see it. */
int ident_has_hetu(const char *s);

/* For free text checked elsewhere (consent evidence): the reason it must
 * not be stored (an invisible or direction-changing character other than
 * the presentation selectors ident_text_lines allows, a full card number,
 * a HETU), or NULL. Never quotes the text. */
const char *ident_text_hazard(const char *s);

/* Media type of an attachment, "type/subtype" without parameters: a
 * registered top-level type (application, audio, font, image, message,
 * model, multipart, text, video) and a subtype of 1 to 64 letters, digits
 * and ". + -" that starts with a letter or digit. The type is stored in
 * plaintext, so it must not be able to carry personal data: a subtype with
 * more than four digits in a row or more than eight digits in all (a card
 * number, a HETU, a phone number) is refused. Canonical: lower-cased. */
int ident_media_type(const char *in, char *out, size_t outsz, const char **why);

/* Whether y-m-d exists in the (proleptic) Gregorian calendar. */
int ident_date_exists(int y, int m, int d);
/* Days since 1970-01-01 of a civil date, and back. Months outside 1..12
 * carry into the year and days outside the month count on from its first
 * day; days beyond the int range of years are clamped. */
int64_t ident_days_from_civil(int y, int m, int d);
void ident_civil_from_days(int64_t days, int *y, int *m, int *d);
/* date (YYYY-MM-DD) plus years, months and days; a day past the end of the
 * resulting month is clamped to its last day, then days are added. out: 11
 * bytes. -1 and "" if date is invalid or the result is outside 0001-9999. */
int ident_date_add(const char *date, int years, int months, int days,
		   char out[11]);
/* The UTC date of Unix time t as YYYY-MM-DD; "" if its year is outside
 * 0001-9999. */
void ident_date_of(int64_t t, char out[11]);

/* ---- Finnish calendar: working days and statutory time limits ---------- */

/* The days on which a statutory time limit does not end under the Finnish
 * act on calculating statutory time limits (150/1930, 5 §): the public
 * holidays, Independence Day, May Day, Midsummer Eve and Christmas Eve.
 * (Saturdays and Sundays are not working days either; they are not
 * holidays of their own.) */
enum ident_fi_holiday_kind {
	IDENT_FI_NONE = 0,
	IDENT_FI_NEW_YEAR,	/* 1 January */
	IDENT_FI_EPIPHANY,	/* 6 January */
	IDENT_FI_GOOD_FRIDAY,	/* Easter - 2 */
	IDENT_FI_EASTER_SUNDAY, /* computus */
	IDENT_FI_EASTER_MONDAY, /* Easter + 1 */
	IDENT_FI_MAY_DAY,	/* 1 May */
	IDENT_FI_ASCENSION,	/* Easter + 39 */
	IDENT_FI_WHITSUNDAY,	/* Easter + 49 */
	IDENT_FI_MIDSUMMER_EVE, /* the Friday of 19-25 June */
	IDENT_FI_MIDSUMMER_DAY, /* the Saturday of 20-26 June */
	IDENT_FI_ALL_SAINTS,	/* the Saturday of 31 October-6 November */
	IDENT_FI_INDEPENDENCE,	/* 6 December */
	IDENT_FI_CHRISTMAS_EVE, /* 24 December */
	IDENT_FI_CHRISTMAS_DAY, /* 25 December */
	IDENT_FI_ST_STEPHEN	/* 26 December */
};

/* Easter Sunday of Gregorian year y (1583-9999) into *m and *d; -1 for a
 * year outside that range. */
int ident_easter(int y, int *m, int *d);
/* Day of the week of a civil date, ISO numbering: 1 Monday .. 7 Sunday. */
int ident_weekday(int y, int m, int d);
/* The holiday (enum ident_fi_holiday_kind) that y-m-d is, or 0 (also for
 * a date that does not exist or a year outside 1583-9999). Every moving
 * holiday is computed, none is listed. */
int ident_fi_holiday(int y, int m, int d);
/* Its English name ("Good Friday"), or NULL for 0 or an unknown kind. */
const char *ident_fi_holiday_name(int kind);
/* 1 when y-m-d is a working day: a day from Monday to Friday that is no
 * holiday above; 0 otherwise (also for a date that does not exist). */
int ident_fi_working_day(int y, int m, int d);
/* The deadline of a time limit of months counted from received
 * (YYYY-MM-DD): the same day months later, or that month's last day when
 * it has no such day (2025-01-31 + 1 = 2025-02-28), moved to the next
 * working day when it is not one. GDPR Art. 12(3): one month, extended by
 * two further months = three months from receipt. out: 11 bytes. -1 and
 * "" for an invalid date, months outside 0..1200, or a result outside
 * 1583-9999. */
int ident_due_date(const char *received, int months, char out[11]);

/* Whether code (ISO 3166-1 alpha-2) is an EU member state or another EEA
 * state (Iceland, Liechtenstein, Norway): a recipient elsewhere is a
 * transfer to a third country (GDPR Chapter V). */
int ident_country_in_eea(const char *code);

#endif
