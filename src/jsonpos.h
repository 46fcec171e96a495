/*
 * jsonpos.h: positions of values in JSON text.
 *
 * Jansson forgets where a value came from, but every problem in a policy is
 * reported as file:line:column. These functions re-scan the original text.
 * They never read past len, use no recursion and tolerate malformed input
 * (then the answer is the best position found, not garbage).
 *
 * Lines and columns are 1-based. A column counts characters, not bytes: each
 * byte that does not continue a UTF-8 sequence (0x80-0xBF) is one column,
 * a tab is one column. This matches the columns Jansson reports for syntax
 * errors, so both kinds of diagnostics agree.
 */
#ifndef RK_JSONPOS_H
#define RK_JSONPOS_H

#include <stddef.h>

/* Paths longer than this are cut; the policy format nests far less. */
#define JSONPOS_MAX_DEPTH 64

/* One step of a path: an object member by its (decoded) key, or, when key
 * is NULL, an array element by its 0-based index. */
typedef struct jsonpos_seg {
	const char *key;
	size_t index;
} jsonpos_seg;

/* Finds the value at path (depth steps) in text and stores the position of
 * its first character, or, when at_key is set and the last step is an
 * object member, the position of that member's key (its opening quote).
 * Returns 0 when the whole path was found; -1 otherwise, and then the
 * position is that of the deepest value found (1:1 at worst). */
int jsonpos_locate(const char *text, size_t len, const jsonpos_seg *path,
		   size_t depth, int at_key, int *line, int *column);

/* Line and column of byte offset off (clamped to len). */
void jsonpos_offset(const char *text, size_t len, size_t off, int *line,
		    int *column);

/* Byte offset where the token covering byte off starts (a string, number,
 * literal or punctuation); off itself when off lies in white space or past
 * the end (then clamped to len). */
size_t jsonpos_token_start(const char *text, size_t len, size_t off);

/* Whether the token starting at off is a string without its closing quote. */
int jsonpos_unterminated_string(const char *text, size_t len, size_t off);

/* Decodes the string token starting at off into buf (NUL-terminated,
 * truncated at a character boundary to fit bufsz). Returns 0, or -1 when
 * no string starts at off (buf is then ""). */
int jsonpos_string_at(const char *text, size_t len, size_t off, char *buf,
		      size_t bufsz);

#endif
