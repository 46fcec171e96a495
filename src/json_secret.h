/*
 * json_secret.h: Jansson values that hold personal data are wiped before
 * they are freed.
 */
#ifndef RK_JSON_SECRET_H
#define RK_JSON_SECRET_H

#include <jansson.h>

/* Overwrites every string inside j (Jansson's own copies) with zeros. */
void json_wipe(json_t *j);
/* json_wipe, then drops the reference. NULL allowed. */
void json_free_secret(json_t *j);

#endif
