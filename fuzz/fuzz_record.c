/*
 * fuzz_record.c: libFuzzer target for the validation of relationship
 * records (record_validate: Jansson, unknown and required fields, the
 * normalisation of each value by its type, card number detection).
 *
 * The first byte of an input picks a record type of the seed policy
 * (modulo their number), the rest is the record's JSON text. An accepted
 * record must come out as a JSON object of the type's fields, each a string
 * (or an array of strings for a multiple field), with every required field
 * present; and validating that output again must accept it and give the
 * same bytes (the normalised form is a fixed point). A refusal leaves no
 * output and a message. Any broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"
#include "record.h"
#include "register.h"

#ifndef RK_SOURCE_DIR
#define RK_SOURCE_DIR "."
#endif

#define SEED_POLICY RK_SOURCE_DIR "/policies/ocr-factory.json"

static rk_register *reg;
/* What the output pointer holds before the call: it must be overwritten. */
static char unset;

static void check(int cond)
{
	if (!cond)
		abort();
}

/* The seed policy in a handle that has nothing else: no store, no keys,
 * no audit queue. Validation must not need them. */
static rk_register *handle(void)
{
	if (reg != NULL)
		return reg;
	reg = calloc(1, sizeof *reg);
	check(reg != NULL);
	reg->pol = policy_load_file(SEED_POLICY, NULL, NULL, NULL);
	check(reg->pol != NULL && reg->pol->nrecord_types > 0);
	reg->role = POL_NONE;
	return reg;
}

static int is_string_value(const json_t *v, int multiple)
{
	const json_t *el;
	size_t i;

	if (json_is_string(v))
		return 1;
	if (!multiple || !json_is_array(v))
		return 0;
	json_array_foreach(v, i, el)
	{
		if (!json_is_string(el))
			return 0;
	}
	return 1;
}

/* The invariants of an accepted record's normalised text. */
static void check_output(rk_register *r, const pol_record_type *rt,
			 const char *plain)
{
	json_t *o, *v;
	json_error_t err;
	const char *key;
	char *again = NULL;
	size_t fi, len = strlen(plain);

	o = json_loads(plain, JSON_REJECT_DUPLICATES, &err);
	check(o != NULL && json_is_object(o));
	json_object_foreach(o, key, v)
	{
		fi = policy_record_field(rt, key);
		check(fi != POL_NONE);
		check(is_string_value(v, rt->fields[fi].multiple));
	}
	for (fi = 0; fi < rt->nfields; fi++)
		check(!rt->fields[fi].required ||
		      json_object_get(o, rt->fields[fi].name) != NULL);
	json_decref(o);

	check(record_validate(r, rt, plain, len, &again) == RK_OK);
	check(again != NULL && strcmp(again, plain) == 0);
	reg_free_secret(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rk_register *r = handle();
	const pol_record_type *rt;
	char *plain = &unset;
	rk_status st;

	if (size == 0)
		return 0;
	rt = &r->pol->record_types[data[0] % r->pol->nrecord_types];
	r->err[0] = '\0';
	st = record_validate(r, rt, (const char *)data + 1, size - 1, &plain);
	if (st == RK_OK) {
		check(plain != NULL);
		check_output(r, rt, plain);
	} else {
		check(plain == NULL);
		check(r->err[0] != '\0' && memchr(r->err, '\0', REG_ERR_MAX));
	}
	reg_free_secret(plain);
	return 0;
}
