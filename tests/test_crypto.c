/*
 * test_crypto.c: unit tests of src/crypto.c (sealing, wrapping, keyed
 * hashes, password hashes, key files).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "crypto.h"

#define FX_NO_REGISTER
#include "fixture.h"

/* Fixed keys for the known-answer tests: 00 01 .. 1f and 20 21 .. 3f. */
static void fixed_key(unsigned char k[SEC_KEY_BYTES], unsigned char first)
{
	for (size_t i = 0; i < SEC_KEY_BYTES; i++)
		k[i] = (unsigned char)(first + i);
}

static void hex_of(const unsigned char *in, size_t n, char *out)
{
	sec_hex(in, n, out);
}

/* ---- temporary directory per test -------------------------------------- */

struct tdir {
	char dir[FX_PATH];
	char path[FX_PATH]; /* dir/key */
};

static int tdir_setup(void **state)
{
	struct tdir *t = calloc(1, sizeof *t);

	assert_non_null(t);
	fx_scratch(t->dir, "crypto");
	fx_path(t->path, sizeof t->path, t->dir, "key");
	*state = t;
	return 0;
}

static int tdir_teardown(void **state)
{
	struct tdir *t = *state;

	fx_rm_tree(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* Reads a small file into buf as a string; returns its length. */
static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static int all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- sealing ------------------------------------------------------------ */

static const unsigned char PT[] = "Matti Meikäläinen";
#define PTLEN (sizeof PT - 1)
#define CTLEN (PTLEN + SEC_SEAL_OVERHEAD)

static void test_seal_open_roundtrip(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];
	unsigned char empty_ct[SEC_SEAL_OVERHEAD];
	unsigned char dummy[1];

	(void)state;
	assert_non_null(k);
	assert_int_equal(sec_seal(k, "subj-1", "name", PT, PTLEN, ct), 0);
	assert_int_equal(sec_open(k, "subj-1", "name", ct, CTLEN, pt), 0);
	assert_memory_equal(pt, PT, PTLEN);

	/* An empty value seals too. */
	assert_int_equal(sec_seal(k, "subj-1", "note", NULL, 0, empty_ct), 0);
	assert_int_equal(
		sec_open(k, "subj-1", "note", empty_ct, sizeof empty_ct, dummy),
		0);
	sec_key_free(k);
}

static void test_open_wrong_key_subject_field(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char *k2 = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];

	(void)state;
	assert_int_equal(sec_seal(k, "subj-1", "name", PT, PTLEN, ct), 0);
	assert_int_equal(sec_open(k2, "subj-1", "name", ct, CTLEN, pt), -1);
	assert_int_equal(sec_open(k, "subj-2", "name", ct, CTLEN, pt), -1);
	assert_int_equal(sec_open(k, "subj-1", "email", ct, CTLEN, pt), -1);
	assert_int_equal(sec_open(k, "", "name", ct, CTLEN, pt), -1);
	/* A failed open leaves no plaintext behind. */
	assert_true(all_zero(pt, PTLEN));
	sec_key_free(k);
	sec_key_free(k2);
}

static void test_open_ad_is_unambiguous(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];

	(void)state;
	/* ("ab","c") must not verify as ("a","bc"). */
	assert_int_equal(sec_seal(k, "ab", "c", PT, PTLEN, ct), 0);
	assert_int_equal(sec_open(k, "a", "bc", ct, CTLEN, pt), -1);
	assert_int_equal(sec_open(k, "ab", "c", ct, CTLEN, pt), 0);
	sec_key_free(k);
}

static void test_open_any_bit_flip_fails(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];

	(void)state;
	assert_int_equal(sec_seal(k, "s", "f", PT, PTLEN, ct), 0);
	/* Every bit of nonce, ciphertext and tag is covered. */
	for (size_t i = 0; i < CTLEN; i++) {
		for (unsigned b = 0; b < 8; b++) {
			ct[i] ^= (unsigned char)(1u << b);
			assert_int_equal(sec_open(k, "s", "f", ct, CTLEN, pt),
					 -1);
			ct[i] ^= (unsigned char)(1u << b);
		}
	}
	assert_int_equal(sec_open(k, "s", "f", ct, CTLEN, pt), 0);
	sec_key_free(k);
}

static void test_open_truncated_fails(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];

	(void)state;
	assert_int_equal(sec_seal(k, "s", "f", PT, PTLEN, ct), 0);
	for (size_t n = 0; n < CTLEN; n++)
		assert_int_equal(sec_open(k, "s", "f", ct, n, pt), -1);
	/* Also with the nonce cut off the front. */
	assert_int_equal(sec_open(k, "s", "f", ct + 1, CTLEN - 1, pt), -1);
	sec_key_free(k);
}

static void test_seal_nonce_is_random(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char a[CTLEN], b[CTLEN];

	(void)state;
	assert_int_equal(sec_seal(k, "s", "f", PT, PTLEN, a), 0);
	assert_int_equal(sec_seal(k, "s", "f", PT, PTLEN, b), 0);
	assert_memory_not_equal(a, b, SEC_NONCE_BYTES);
	assert_memory_not_equal(a + SEC_NONCE_BYTES, b + SEC_NONCE_BYTES,
				PTLEN + SEC_TAG_BYTES);
	sec_key_free(k);
}

static void test_seal_refuses_long_ad(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char ct[CTLEN];
	unsigned char pt[PTLEN];
	char ok[201], longer[202];

	(void)state;
	memset(ok, 'x', 200);
	ok[200] = '\0';
	memset(longer, 'x', 201);
	longer[201] = '\0';
	assert_int_equal(sec_seal(k, ok, ok, PT, PTLEN, ct), 0);
	assert_int_equal(sec_open(k, ok, ok, ct, CTLEN, pt), 0);
	assert_int_equal(sec_seal(k, longer, "f", PT, PTLEN, ct), -1);
	assert_int_equal(sec_seal(k, "s", longer, PT, PTLEN, ct), -1);
	assert_int_equal(sec_open(k, longer, "f", ct, CTLEN, pt), -1);
	sec_key_free(k);
}

/* ---- wrapping ----------------------------------------------------------- */

static void test_wrap_unwrap(void **state)
{
	unsigned char *kek = sec_key_new();
	unsigned char *kek2 = sec_key_new();
	unsigned char *dk = sec_key_new();
	unsigned char *out = sec_key_alloc();
	unsigned char w[SEC_WRAPPED_BYTES];

	(void)state;
	assert_non_null(out);
	assert_int_equal(sec_wrap(kek, "subj-1", dk, w), 0);
	assert_int_equal(sec_unwrap(kek, "subj-1", w, out), 0);
	assert_memory_equal(out, dk, SEC_KEY_BYTES);

	assert_int_equal(sec_unwrap(kek2, "subj-1", w, out), -1);
	assert_int_equal(sec_unwrap(kek, "subj-2", w, out), -1);
	w[SEC_WRAPPED_BYTES - 1] ^= 1;
	assert_int_equal(sec_unwrap(kek, "subj-1", w, out), -1);
	w[SEC_WRAPPED_BYTES - 1] ^= 1;

	/* A wrap is not a seal: the contexts are separated. */
	assert_int_equal(sec_open(kek, "subj-1", "", w, sizeof w, out), -1);

	sec_key_free(kek);
	sec_key_free(kek2);
	sec_key_free(dk);
	sec_key_free(out);
}

/* ---- keyed hashes ------------------------------------------------------- */

static void test_blind_index(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char *k2 = sec_key_new();
	unsigned char a[SEC_BIDX_BYTES], b[SEC_BIDX_BYTES];

	(void)state;
	sec_blind_index(k, "email", "alice@example.com", a);
	sec_blind_index(k, "email", "alice@example.com", b);
	assert_memory_equal(a, b, SEC_BIDX_BYTES);
	sec_blind_index(k, "username", "alice@example.com", b);
	assert_memory_not_equal(a, b, SEC_BIDX_BYTES);
	sec_blind_index(k2, "email", "alice@example.com", b);
	assert_memory_not_equal(a, b, SEC_BIDX_BYTES);
	sec_blind_index(k, "email", "bob@example.com", b);
	assert_memory_not_equal(a, b, SEC_BIDX_BYTES);
	/* Field and value do not run together. */
	sec_blind_index(k, "ab", "c", a);
	sec_blind_index(k, "a", "bc", b);
	assert_memory_not_equal(a, b, SEC_BIDX_BYTES);
	sec_key_free(k);
	sec_key_free(k2);
}

static void test_blind_index_known_answer(void **state)
{
	unsigned char k[SEC_KEY_BYTES];
	unsigned char out[SEC_BIDX_BYTES];
	char hex[2 * SEC_BIDX_BYTES + 1];

	(void)state;
	fixed_key(k, 0x00);
	/*
	 * python3: hashlib.blake2b(b"rk-bidx-v1\0email\0alice@example.com",
	 *     key=bytes(range(32)), digest_size=16).hexdigest()
	 */
	sec_blind_index(k, "email", "alice@example.com", out);
	hex_of(out, sizeof out, hex);
	assert_string_equal(hex, "16de698bd6443507ee01375968ce3a44");
	/* python3: hashlib.blake2b(b"rk-bidx-v1\0phone\0",
	 *     key=bytes(range(32)), digest_size=16).hexdigest() */
	sec_blind_index(k, "phone", "", out);
	hex_of(out, sizeof out, hex);
	assert_string_equal(hex, "fe0363067d03a9df26c1d874aa811831");
}

static void test_chain_known_answer(void **state)
{
	unsigned char k[SEC_KEY_BYTES];
	unsigned char prev[SEC_HASH_BYTES];
	unsigned char out[SEC_HASH_BYTES], out2[SEC_HASH_BYTES];
	char hex[2 * SEC_HASH_BYTES + 1];
	static const char msg[] = "audit entry 1";

	(void)state;
	fixed_key(k, 0x20);
	memset(prev, 0xaa, sizeof prev);
	/*
	 * python3: hashlib.blake2b(b"\xaa" * 32 + b"audit entry 1",
	 *     key=bytes(range(32, 64)), digest_size=32).hexdigest()
	 */
	sec_chain(k, prev, (const unsigned char *)msg, sizeof msg - 1, out);
	hex_of(out, sizeof out, hex);
	assert_string_equal(hex, "8041f4a07c8b5c2d32d973d61670579a"
				 "865b9ca70eddb532f43f60b78e16aa73");
	/* Another predecessor gives another link. */
	prev[0] ^= 1;
	sec_chain(k, prev, (const unsigned char *)msg, sizeof msg - 1, out2);
	assert_memory_not_equal(out, out2, SEC_HASH_BYTES);
}

static void test_key_id(void **state)
{
	unsigned char k[SEC_KEY_BYTES];
	unsigned char *k2 = sec_key_new();
	char a[SEC_KEYID_HEX + 1], b[SEC_KEYID_HEX + 1];

	(void)state;
	fixed_key(k, 0x00);
	sec_key_id(k, a);
	sec_key_id(k, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), SEC_KEYID_HEX);
	/*
	 * The first 8 bytes of a 16-byte digest (libsodium's BLAKE2b minimum):
	 * python3: hashlib.blake2b(b"rekisteri key id v1",
	 *     key=bytes(range(32)), digest_size=16).hexdigest()[:16]
	 */
	assert_string_equal(a, "7185034b25c66c69");
	sec_key_id(k2, b);
	assert_string_not_equal(a, b);
	sec_key_free(k2);
}

static void test_pseudonym(void **state)
{
	unsigned char k[SEC_KEY_BYTES];
	unsigned char *k2 = sec_key_new();
	char a[33], b[33];

	(void)state;
	fixed_key(k, 0x00);
	sec_pseudonym(k, a);
	sec_pseudonym(k, b);
	assert_string_equal(a, b);
	/* python3: hashlib.blake2b(b"rk-audit-pseudonym-v1",
	 *     key=bytes(range(32)), digest_size=16).hexdigest() */
	assert_string_equal(a, "f24e7f530f3c4f1f1c64987c79d99628");
	sec_pseudonym(k2, b);
	assert_string_not_equal(a, b);
	sec_key_free(k2);
}

/* ---- passwords ---------------------------------------------------------- */

static void test_pwhash(void **state)
{
	char h[SEC_PWHASH_BYTES];
	char h2[SEC_PWHASH_BYTES];

	(void)state;
	assert_int_equal(sec_pwhash("correct horse", h), 0);
	assert_memory_equal(h, "$argon2id$", 10);
	assert_int_equal(sec_pwverify(h, "correct horse"), 0);
	assert_int_equal(sec_pwverify(h, "correct horsf"), -1);
	assert_int_equal(sec_pwverify(h, ""), -1);
	assert_int_equal(sec_pwverify("garbage", "correct horse"), -1);
	/* Salted: the same password hashes differently. */
	assert_int_equal(sec_pwhash("correct horse", h2), 0);
	assert_string_not_equal(h, h2);
}

/* ---- key files ---------------------------------------------------------- */

static void test_keyfile_create_mode_and_load(void **state)
{
	struct tdir *t = *state;
	unsigned char *k = sec_key_alloc();
	unsigned char *k2 = sec_key_alloc();
	char err[256] = "";
	char text[256];
	char hex[2 * SEC_KEY_BYTES + 1];
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(sec_keyfile_create(t->path, k, err, sizeof err), 0);
	umask(old);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* The documented format, exactly. */
	hex_of(k, SEC_KEY_BYTES, hex);
	assert_int_equal(read_file(t->path, text, sizeof text), 89);
	assert_memory_equal(text, "rekisteri-master-key v1\n", 24);
	assert_memory_equal(text + 24, hex, 64);
	assert_int_equal(text[88], '\n');

	assert_int_equal(sec_keyfile_load(t->path, k2, err, sizeof err), 0);
	assert_memory_equal(k, k2, SEC_KEY_BYTES);
	sec_key_free(k);
	sec_key_free(k2);
}

static void test_keyfile_create_refuses_existing(void **state)
{
	struct tdir *t = *state;
	unsigned char *k = sec_key_alloc();
	unsigned char *k2 = sec_key_alloc();
	char err[256] = "";
	char before[256], after[256];

	assert_int_equal(sec_keyfile_create(t->path, k, err, sizeof err), 0);
	(void)read_file(t->path, before, sizeof before);
	assert_int_equal(sec_keyfile_create(t->path, k2, err, sizeof err), -1);
	assert_non_null(strstr(err, "exists"));
	(void)read_file(t->path, after, sizeof after);
	assert_string_equal(before, after);
	sec_key_free(k);
	sec_key_free(k2);
}

static void check_mode_refused(const char *path, mode_t mode)
{
	unsigned char *k = sec_key_alloc();
	char err[512] = "";
	char text[256], hex[2 * SEC_KEY_BYTES + 1];

	assert_int_equal(chmod(path, mode), 0);
	memset(k, 0x55, SEC_KEY_BYTES);
	assert_int_equal(sec_keyfile_load(path, k, err, sizeof err), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_true(all_zero(k, SEC_KEY_BYTES));
	/* The message never carries key material. */
	(void)read_file(path, text, sizeof text);
	memcpy(hex, text + 24, 64);
	hex[64] = '\0';
	assert_null(strstr(err, hex));
	assert_null(strstr(err, "\n"));
	sec_key_free(k);
}

static void test_keyfile_load_refuses_loose_mode(void **state)
{
	struct tdir *t = *state;
	unsigned char *k = sec_key_alloc();
	char err[256];

	assert_int_equal(sec_keyfile_create(t->path, k, err, sizeof err), 0);
	check_mode_refused(t->path, 0640);
	check_mode_refused(t->path, 0604);
	check_mode_refused(t->path, 0660);
	check_mode_refused(t->path, 0601);
	check_mode_refused(t->path, 0610);
	assert_int_equal(chmod(t->path, 0400), 0); /* read-only is fine */
	assert_int_equal(sec_keyfile_load(t->path, k, err, sizeof err), 0);
	sec_key_free(k);
}

static void check_malformed(const char *path, const char *text)
{
	unsigned char *k = sec_key_alloc();
	char err[256] = "";

	write_file(path, text, 0600);
	memset(k, 0x55, SEC_KEY_BYTES);
	assert_int_equal(sec_keyfile_load(path, k, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_true(all_zero(k, SEC_KEY_BYTES));
	assert_int_equal(unlink(path), 0);
	sec_key_free(k);
}

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_keyfile_load_refuses_malformed(void **state)
{
	struct tdir *t = *state;
	unsigned char *k = sec_key_alloc();
	unsigned char want[SEC_KEY_BYTES];
	char err[256];

	/* The reference file loads, so each failure below is its defect. */
	write_file(t->path, "rekisteri-master-key v1\n" HEX64 "\n", 0600);
	assert_int_equal(sec_keyfile_load(t->path, k, err, sizeof err), 0);
	fixed_key(want, 0x00);
	assert_memory_equal(k, want, SEC_KEY_BYTES);
	assert_int_equal(unlink(t->path), 0);

	check_malformed(t->path, "");
	check_malformed(t->path, "rekisteri-master-key v2\n" HEX64 "\n");
	check_malformed(t->path, "Rekisteri-master-key v1\n" HEX64 "\n");
	check_malformed(t->path, HEX64 "\n");
	/* short hex */
	check_malformed(t->path, "rekisteri-master-key v1\n"
				 "000102030405060708090a0b0c0d0e0f\n");
	check_malformed(t->path, "rekisteri-master-key v1\n"
				 "000102030405060708090a0b0c0d0e0f101112131415"
				 "161718191a1b1c1d1e1\n");
	/* non-hex, upper-case hex */
	check_malformed(t->path, "rekisteri-master-key v1\n"
				 "000102030405060708090a0b0c0d0e0f101112131415"
				 "161718191a1b1c1d1e1g\n");
	check_malformed(t->path, "rekisteri-master-key v1\n"
				 "000102030405060708090A0B0C0D0E0F101112131415"
				 "161718191a1b1c1d1e1f\n");
	check_malformed(t->path, "rekisteri-master-key v1\n"
				 "00 102030405060708090a0b0c0d0e0f101112131415"
				 "161718191a1b1c1d1e1f\n");
	/* missing newline, trailing data, CRLF */
	check_malformed(t->path, "rekisteri-master-key v1\n" HEX64);
	check_malformed(t->path, "rekisteri-master-key v1\n" HEX64 "\n\n");
	check_malformed(t->path, "rekisteri-master-key v1\n" HEX64 "00\n");
	check_malformed(t->path, "rekisteri-master-key v1\r\n" HEX64 "\n");
	sec_key_free(k);
}

static void test_keyfile_load_refuses_other_files(void **state)
{
	struct tdir *t = *state;
	unsigned char *k = sec_key_alloc();
	char err[256] = "";

	assert_int_equal(sec_keyfile_load(t->path, k, err, sizeof err), -1);
	assert_non_null(strstr(err, t->path));
	assert_int_equal(mkdir(t->path, 0700), 0);
	assert_int_equal(sec_keyfile_load(t->path, k, err, sizeof err), -1);
	assert_non_null(strstr(err, "regular"));
	assert_int_equal(rmdir(t->path), 0);
	assert_int_equal(mkfifo(t->path, 0600), 0);
	assert_int_equal(sec_keyfile_load(t->path, k, err, sizeof err), -1);
	assert_non_null(strstr(err, "regular"));
	/* A NULL err buffer is allowed. */
	assert_int_equal(sec_keyfile_load(t->path, k, NULL, 0), -1);
	sec_key_free(k);
}

static void test_keyfile_replace(void **state)
{
	struct tdir *t = *state;
	unsigned char *old = sec_key_alloc();
	unsigned char *nk = sec_key_new();
	unsigned char *got = sec_key_alloc();
	char err[512] = "";
	char tmp[FX_PATH + 8];
	char text[256];
	char oldhex[2 * SEC_KEY_BYTES + 1], newhex[2 * SEC_KEY_BYTES + 1];
	struct stat st;
	mode_t um = umask(0);

	assert_int_equal(sec_keyfile_create(t->path, old, err, sizeof err), 0);
	assert_int_equal(sec_keyfile_replace(t->path, nk, err, sizeof err), 0);
	umask(um);

	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	(void)snprintf(tmp, sizeof tmp, "%s.tmp", t->path);
	assert_int_not_equal(access(tmp, F_OK), 0);

	hex_of(old, SEC_KEY_BYTES, oldhex);
	hex_of(nk, SEC_KEY_BYTES, newhex);
	(void)read_file(t->path, text, sizeof text);
	assert_null(strstr(text, oldhex));
	assert_non_null(strstr(text, newhex));
	assert_int_equal(sec_keyfile_load(t->path, got, err, sizeof err), 0);
	assert_memory_equal(got, nk, SEC_KEY_BYTES);

	/* A leftover temporary file is neither removed nor overwritten. */
	write_file(tmp, "leftover", 0600);
	assert_int_equal(sec_keyfile_replace(t->path, old, err, sizeof err),
			 -1);
	assert_non_null(strstr(err, ".tmp"));
	(void)read_file(tmp, text, sizeof text);
	assert_string_equal(text, "leftover");
	assert_int_equal(sec_keyfile_load(t->path, got, err, sizeof err), 0);
	assert_memory_equal(got, nk, SEC_KEY_BYTES);

	sec_key_free(old);
	sec_key_free(nk);
	sec_key_free(got);
}

/* ---- helpers ------------------------------------------------------------ */

static void test_helpers(void **state)
{
	char a[33], b[33];
	unsigned char x[4] = {0x00, 0x9f, 0xa0, 0xff};
	unsigned char y[4] = {0x00, 0x9f, 0xa0, 0xfe};
	char hex[9];
	unsigned char w[8];

	(void)state;
	sec_random_id(a);
	sec_random_id(b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);

	sec_hex(x, sizeof x, hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(sec_memcmp(x, x, sizeof x), 0);
	assert_int_not_equal(sec_memcmp(x, y, sizeof x), 0);

	memset(w, 0xff, sizeof w);
	sec_wipe(w, sizeof w);
	assert_true(all_zero(w, sizeof w));
	sec_random(w, sizeof w);
	sec_key_free(NULL);
}

/* ---- speed: keyed states made once (sec_kst) ----
 * The same outputs as the plain calls, and a key changed in place (as a
 * rotation may copy a new key over the old) is never hashed with the old
 * key's state. */
static void test_kst_same_as_plain(void **state)
{
	unsigned char *k = sec_key_new();
	unsigned char *k2 = sec_key_new();
	unsigned char a[SEC_HASH_BYTES], b[SEC_HASH_BYTES];
	unsigned char prev[SEC_HASH_BYTES];
	static const unsigned char msg[] = "seq:1 actor action";
	sec_kst *cs = NULL, *bs = NULL;

	(void)state;
	assert_non_null(k);
	assert_non_null(k2);
	memset(prev, 7, sizeof prev);
	for (int round = 0; round < 2; round++) {
		sec_chain(k, prev, msg, sizeof msg, a);
		sec_chain_ks(&cs, k, prev, msg, sizeof msg, b);
		assert_memory_equal(a, b, SEC_HASH_BYTES);
		sec_blind_index(k, "email", "alice@example.com", a);
		sec_blind_index_ks(&bs, k, "email", "alice@example.com", b);
		assert_memory_equal(a, b, SEC_BIDX_BYTES);
		/* one state per slot and output length: a slot used for
		 * another length is made again, not misused */
		sec_blind_index_ks(&cs, k, "email", "alice@example.com", b);
		assert_memory_equal(a, b, SEC_BIDX_BYTES);
		sec_chain(k, prev, msg, sizeof msg, a);
		sec_chain_ks(&cs, k, prev, msg, sizeof msg, b);
		assert_memory_equal(a, b, SEC_HASH_BYTES);
		/* the next round under another key in the same buffer */
		memcpy(k, k2, SEC_KEY_BYTES);
	}
	assert_non_null(cs);
	/* no slot: the plain call */
	sec_chain_ks(NULL, k, prev, msg, sizeof msg, b);
	sec_chain(k, prev, msg, sizeof msg, a);
	assert_memory_equal(a, b, SEC_HASH_BYTES);
	sec_kst_free(cs);
	sec_kst_free(bs);
	sec_kst_free(NULL);
	sec_key_free(k);
	sec_key_free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open_roundtrip),
		cmocka_unit_test(test_open_wrong_key_subject_field),
		cmocka_unit_test(test_open_ad_is_unambiguous),
		cmocka_unit_test(test_open_any_bit_flip_fails),
		cmocka_unit_test(test_open_truncated_fails),
		cmocka_unit_test(test_seal_nonce_is_random),
		cmocka_unit_test(test_seal_refuses_long_ad),
		cmocka_unit_test(test_wrap_unwrap),
		cmocka_unit_test(test_blind_index),
		cmocka_unit_test(test_blind_index_known_answer),
		cmocka_unit_test(test_chain_known_answer),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_pseudonym),
		cmocka_unit_test(test_pwhash),
		cmocka_unit_test_setup_teardown(
			test_keyfile_create_mode_and_load, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyfile_create_refuses_existing, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyfile_load_refuses_loose_mode, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyfile_load_refuses_malformed, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_keyfile_load_refuses_other_files, tdir_setup,
			tdir_teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_replace,
						tdir_setup, tdir_teardown),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_kst_same_as_plain),
	};

	if (sec_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
