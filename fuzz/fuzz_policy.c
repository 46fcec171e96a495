/*
 * fuzz_policy.c: libFuzzer target for the policy loader (Jansson, the
 * validator and the position finder behind every diagnostic).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"

/* Diagnostics are formatted and located even though nobody reads them:
 * touching the message catches unterminated strings. */
static void sink(void *ud, const char *file, int line, int column,
		 const char *message)
{
	size_t *total = ud;

	(void)file;
	*total += strlen(message) + (size_t)(line > 0) + (size_t)(column > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	policy *p =
		policy_parse((const char *)data, size, "fuzz", sink, &total);

	policy_free(p);
	return 0;
}
