/*
 * json_secret.c: wiping Jansson values that held personal data.
 */
#include <stdint.h>

#include "crypto.h"
#include "json_secret.h"

void json_wipe(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (j == NULL)
		return;
	if (json_is_string(j)) {
		/* Jansson's own heap copy; const only in its interface. */
		sec_wipe((void *)(uintptr_t)json_string_value(j),
			 json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
		{
			json_wipe(v);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			json_wipe(v);
		}
	}
}

void json_free_secret(json_t *j)
{
	json_wipe(j);
	json_decref(j);
}
