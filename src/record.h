/*
 * record.h: the validation step of relationship records (record.c), apart
 * from the store and the keys so that a fuzz target can drive it.
 */
#ifndef RK_RECORD_H
#define RK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "rekisteri.h"

/* Parses len bytes of json (NUL bytes are not allowed; no terminating NUL
 * is needed) as a record of type rt: a JSON object of at most 1 MiB whose
 * keys are fields of rt, each value a JSON string or number (an array of
 * them for a multiple field), every required field present, no key twice,
 * no full card number anywhere. Each value is normalised by its field's
 * type. On RK_OK, *plain_out is the normalised record as compact JSON with
 * sorted keys (malloc'd; it is personal data: the caller wipes and frees it,
 * e.g. with reg_free_secret). Otherwise *plain_out is NULL and r->err says
 * why without quoting any value. Reads only r->pol and writes only r->err:
 * no store, keys or audit. */
rk_status record_validate(rk_register *r, const pol_record_type *rt,
			  const char *json, size_t len, char **plain_out);

/* For the access report (export.c), which reads every record whatever its
 * purpose (the fields open with reg_record_open). Decrypts record record_id's
 * attachment of size bytes into a new file out_path (mode 0600), named only
 * once it is whole and never over an existing file (RK_EINVAL). No access check
 * and no audit: the caller does both. */
rk_status record_attachment_save(rk_register *r, const char *subject_id,
				 const unsigned char *dk, int64_t record_id,
				 int64_t size, const char *out_path);

#endif
