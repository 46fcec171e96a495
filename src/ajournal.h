/*
 * ajournal.h: a handle's audit journal, the file beside the database where a
 * read's audit entry is written before the read hands out any data. Entries
 * move from the journal into the hash chain in groups; a journal whose
 * handle died is an orphan, and the next handle that can takes its entries
 * into the chain. This module only knows files: what a record holds and how
 * it is authenticated is audit.c's business.
 */
#ifndef RK_AJOURNAL_H
#define RK_AJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define AJ_ID_HEX  32
#define AJ_REC_MAX 8192

typedef struct ajournal ajournal;

/* Creates "<db_path>-audit-<id>.j" (mode 0600, locked for the handle's life
 * so that nobody takes it for an orphan). NULL with a message in err. */
ajournal *ajournal_create(const char *db_path, char *err, size_t errlen);
/* The journal's random id (hex), which records are bound to. */
const char *ajournal_id(const ajournal *j);
/* Appends one record (its first four bytes are its length, big-endian,
 * never zero): 0, or -1 with errno set when no space could be reserved. */
int ajournal_append(ajournal *j, const unsigned char *rec, size_t len);
/* Empties the journal once its entries are in the chain. */
int ajournal_truncate(ajournal *j);
/* Closes the journal; removes its file when remove is set. NULL allowed. */
void ajournal_close(ajournal *j, int remove);

/* Called with each orphan's id and whole content (at most a megabyte is
 * read). Returning 0 removes the orphan; non-zero keeps it for later. */
typedef int (*ajournal_orphan_fn)(void *ud, const char *id,
				  const unsigned char *data, size_t len);
/* Finds the journals of db_path whose handles are gone (their lock is
 * free) and hands each to fn while holding its lock. Returns how many were
 * kept (fn refused them, or they could not be read), or -1 when the
 * directory cannot be read. */
int ajournal_orphans(const char *db_path, ajournal_orphan_fn fn, void *ud);

#endif
