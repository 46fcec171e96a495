/*
 * crypto.c: every libsodium call of rekisteri lives here, so the rest of the
 * code handles keys only as opaque SEC_KEY_BYTES buffers.
 */
#define _POSIX_C_SOURCE 200809L

#include "crypto.h"
#include "fsutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

/* The header must stay free of <sodium.h>, so its sizes are checked here. */
_Static_assert(SEC_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	       "key size");
_Static_assert(SEC_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "nonce size");
_Static_assert(SEC_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
	       "tag size");
_Static_assert(SEC_PWHASH_BYTES >= crypto_pwhash_STRBYTES, "pwhash size");
_Static_assert(SEC_HASH_BYTES >= crypto_generichash_BYTES_MIN &&
		       SEC_HASH_BYTES <= crypto_generichash_BYTES_MAX,
	       "chain hash size");
_Static_assert(SEC_BIDX_BYTES >= crypto_generichash_BYTES_MIN &&
		       SEC_BIDX_BYTES <= crypto_generichash_BYTES_MAX,
	       "blind index size");
_Static_assert(SEC_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
		       SEC_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
	       "keys double as BLAKE2b keys");
/* BLAKE2b in libsodium outputs at least 16 bytes; the key id is a prefix. */
_Static_assert(SEC_KEYID_HEX / 2 <= crypto_generichash_BYTES_MIN,
	       "key id size");

#define KEYFILE_HEADER	   "rekisteri-master-key v1\n"
#define KEYFILE_HEADER_LEN (sizeof KEYFILE_HEADER - 1)
#define KEYFILE_HEX_LEN	   (2 * SEC_KEY_BYTES)
#define KEYFILE_LEN	   (KEYFILE_HEADER_LEN + KEYFILE_HEX_LEN + 1)
/* Longer paths are refused rather than truncated. */
#define PATH_BUF 4096
/* Bounds of the associated data pieces, so AD fits a stack buffer. */
#define AD_PART_MAX 200

static const char WRAP_CTX[] = "rk-wrap-v1"; /* sizeof includes the NUL */
static const char SEAL_CTX[] = "rk-seal-v1";
static const char BIDX_CTX[] = "rk-bidx-v1";
static const char KEYID_MSG[] = "rekisteri key id v1";
static const char PSEUDO_MSG[] = "rk-audit-pseudonym-v1";

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int sec_init(void)
{
	/* sodium_init is idempotent and thread-safe: 1 means already done. */
	return sodium_init() < 0 ? -1 : 0;
}

/* Guarded memory is an mmap with guard pages and mlock per key, and its
 * munmap flushes other CPUs' TLBs: far too slow for one data key per
 * subject added or read. Each thread keeps a few wiped buffers for reuse;
 * they are freed when the thread exits. */
#define KEY_POOL_MAX 16

struct key_pool {
	unsigned char *keys[KEY_POOL_MAX];
	int n;
};

static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_ok;

static void pool_destroy(void *p)
{
	struct key_pool *kp = p;

	while (kp->n > 0)
		sodium_free(kp->keys[--kp->n]);
	free(kp);
}

static void pool_init(void)
{
	pool_ok = pthread_key_create(&pool_key, pool_destroy) == 0;
}

static struct key_pool *pool_get(void)
{
	struct key_pool *kp;

	if (pthread_once(&pool_once, pool_init) != 0 || !pool_ok)
		return NULL;
	kp = pthread_getspecific(pool_key);
	if (kp == NULL) {
		kp = calloc(1, sizeof *kp);
		if (kp != NULL && pthread_setspecific(pool_key, kp) != 0) {
			free(kp);
			kp = NULL;
		}
	}
	return kp;
}

unsigned char *sec_key_alloc(void)
{
	struct key_pool *kp = pool_get();

	if (kp != NULL && kp->n > 0)
		return kp->keys[--kp->n];
	return sodium_malloc(SEC_KEY_BYTES);
}

unsigned char *sec_key_new(void)
{
	unsigned char *key = sec_key_alloc();

	if (key != NULL)
		randombytes_buf(key, SEC_KEY_BYTES);
	return key;
}

void sec_key_free(unsigned char *key)
{
	struct key_pool *kp;

	if (key == NULL)
		return;
	sodium_memzero(key, SEC_KEY_BYTES);
	kp = pool_get();
	if (kp != NULL && kp->n < KEY_POOL_MAX) {
		kp->keys[kp->n++] = key;
		return;
	}
	sodium_free(key);
}

/* ---- key files ---------------------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += (size_t)w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes a rename or creation in path's directory durable. */
static int fsync_parent(const char *path, char *err, size_t errlen)
{
	if (fs_sync_parent_dir(path) == 0)
		return 0;
	if (errno == ENAMETOOLONG)
		set_err(err, errlen, "key file path too long");
	else
		set_err(err, errlen, "cannot sync directory of %s: %s", path,
			strerror(errno));
	return -1;
}

/*
 * Creates path exclusively with mode 0600 and writes the key file text into
 * it, fsynced. Returns 0, 1 when path already exists (nothing touched), or
 * -1 on another failure, after removing what this call created so a retry
 * is not blocked by a half-written key file.
 */
static int write_new_keyfile(const char *path, const unsigned char *key,
			     char *err, size_t errlen)
{
	char text[KEYFILE_LEN + 1]; /* +1: sodium_bin2hex writes a NUL */
	int fd;
	int rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			set_err(err, errlen,
				"%s already exists; not overwritten", path);
			return 1;
		}
		set_err(err, errlen, "cannot create %s: %s", path,
			strerror(errno));
		return -1;
	}
	memcpy(text, KEYFILE_HEADER, KEYFILE_HEADER_LEN);
	sodium_bin2hex(text + KEYFILE_HEADER_LEN,
		       sizeof text - KEYFILE_HEADER_LEN, key, SEC_KEY_BYTES);
	text[KEYFILE_LEN - 1] = '\n';
	/* The mode given to open is reduced by the umask; 0600 is exact. */
	if (fchmod(fd, 0600) != 0) {
		set_err(err, errlen, "cannot chmod %s: %s", path,
			strerror(errno));
		goto out;
	}
	if (write_all(fd, (const unsigned char *)text, KEYFILE_LEN) != 0 ||
	    fsync(fd) != 0) {
		set_err(err, errlen, "cannot write %s: %s", path,
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, sizeof text);
	if (close(fd) != 0 && rc == 0) {
		set_err(err, errlen, "cannot write %s: %s", path,
			strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		(void)unlink(path); /* created above, so ours to remove */
	return rc;
}

int sec_keyfile_create(const char *path, unsigned char *key_out, char *err,
		       size_t errlen)
{
	int rc = -1;

	if (path == NULL || key_out == NULL) {
		set_err(err, errlen, "no key file path given");
		goto out;
	}
	randombytes_buf(key_out, SEC_KEY_BYTES);
	if (write_new_keyfile(path, key_out, err, errlen) != 0)
		goto out; /* err already says why */
	if (fsync_parent(path, err, errlen) != 0) {
		/* Not durable: remove it so the caller never relies on it. */
		(void)unlink(path);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && key_out != NULL)
		sodium_memzero(key_out, SEC_KEY_BYTES);
	return rc;
}

/* 0 when every character is 0-9 or a-f; no branch on the key's digits. */
static int lower_hex_only(const char *s, size_t n)
{
	unsigned bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i];
		unsigned digit = ((c - '0') & 0xffu) < 10u;
		unsigned lower = ((c - 'a') & 0xffu) < 6u;
		bad |= (digit | lower) ^ 1u;
	}
	return bad ? -1 : 0;
}

int sec_keyfile_load(const char *path, unsigned char *key_out, char *err,
		     size_t errlen)
{
	/* Room for one byte more than a valid file, to notice extra bytes. */
	char buf[KEYFILE_LEN + 1];
	size_t got = 0;
	size_t bin_len = 0;
	struct stat st;
	int fd = -1;
	int rc = -1;

	if (path == NULL || key_out == NULL) {
		set_err(err, errlen, "no key file path given");
		goto out;
	}
	/* O_NONBLOCK: a FIFO in place of the key file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		set_err(err, errlen, "cannot open key file %s: %s", path,
			strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		set_err(err, errlen, "cannot stat key file %s: %s", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen,
			"key file %s is accessible by group or others; "
			"run: chmod 600 %s",
			path, path);
		goto out;
	}
	while (got < sizeof buf) {
		ssize_t r = read(fd, buf + got, sizeof buf - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "cannot read key file %s: %s",
				path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != KEYFILE_LEN ||
	    memcmp(buf, KEYFILE_HEADER, KEYFILE_HEADER_LEN) != 0 ||
	    buf[KEYFILE_LEN - 1] != '\n' ||
	    lower_hex_only(buf + KEYFILE_HEADER_LEN, KEYFILE_HEX_LEN) != 0 ||
	    sodium_hex2bin(key_out, SEC_KEY_BYTES, buf + KEYFILE_HEADER_LEN,
			   KEYFILE_HEX_LEN, NULL, &bin_len, NULL) != 0 ||
	    bin_len != SEC_KEY_BYTES) {
		set_err(err, errlen, "key file %s is malformed", path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(buf, sizeof buf);
	if (rc != 0 && key_out != NULL)
		sodium_memzero(key_out, SEC_KEY_BYTES);
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

int sec_keyfile_replace(const char *path, const unsigned char *key, char *err,
			size_t errlen)
{
	char tmp[PATH_BUF];
	int n;
	int rc = -1;

	if (path == NULL || key == NULL) {
		set_err(err, errlen, "no key file path given");
		goto out;
	}
	n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		set_err(err, errlen, "key file path too long");
		goto out;
	}
	/*
	 * A leftover temporary file may be the only copy of a key from an
	 * interrupted rotation, so it is never removed silently.
	 */
	switch (write_new_keyfile(tmp, key, err, errlen)) {
	case 0:
		break;
	case 1:
		set_err(err, errlen,
			"%s exists, perhaps from an interrupted key "
			"rotation; check it and remove it",
			tmp);
		goto out;
	default:
		goto out;
	}
	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path,
			strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	if (fsync_parent(path, err, errlen) != 0) {
		/* The new key is in place, but perhaps not yet durable. */
		goto out;
	}
	rc = 0;
out:
	return rc;
}

void sec_key_id(const unsigned char *key, char out[SEC_KEYID_HEX + 1])
{
	unsigned char h[crypto_generichash_BYTES_MIN];

	/* libsodium's BLAKE2b gives at least 16 bytes; the id is its prefix. */
	crypto_generichash(h, sizeof h, (const unsigned char *)KEYID_MSG,
			   sizeof KEYID_MSG - 1, key, SEC_KEY_BYTES);
	sodium_bin2hex(out, SEC_KEYID_HEX + 1, h, SEC_KEYID_HEX / 2);
}

/* ---- AEAD --------------------------------------------------------------- */

/* Writes ctx "\0" a ["\0" b] into ad; returns its length, or 0 if too long. */
static size_t build_ad(unsigned char *ad, size_t cap, const char *ctx,
		       size_t ctxlen, const char *a, const char *b)
{
	size_t alen = strnlen(a, AD_PART_MAX + 1);
	size_t blen = b != NULL ? strnlen(b, AD_PART_MAX + 1) : 0;
	size_t len;

	if (alen > AD_PART_MAX || blen > AD_PART_MAX)
		return 0;
	len = ctxlen + 1 + alen + (b != NULL ? 1 + blen : 0);
	if (len > cap)
		return 0;
	memcpy(ad, ctx, ctxlen + 1); /* with its NUL as separator */
	memcpy(ad + ctxlen + 1, a, alen);
	if (b != NULL) {
		ad[ctxlen + 1 + alen] = 0;
		memcpy(ad + ctxlen + 2 + alen, b, blen);
	}
	return len;
}

#define AD_BUF (sizeof SEAL_CTX + 2 * AD_PART_MAX + 1)

/* Encrypts into out as nonce || ct || tag. out must not overlap pt. */
/* Nonces and IDs are public, so they may come from a per-thread buffer of
 * random bytes refilled by one system call, rather than one getrandom per
 * value sealed (a tenth of a bulk load's time). Keys never come from it. */
#define PUBLIC_RANDOM_BUF 1024

static _Thread_local unsigned char public_random[PUBLIC_RANDOM_BUF];
static _Thread_local size_t public_random_left;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* A forked child must not hand out the nonces its parent will use too:
 * under the same key that would break the cipher. */
static void public_random_forget(void)
{
	sodium_memzero(public_random, sizeof public_random);
	public_random_left = 0;
}

static int fork_guarded;

static void fork_guard(void)
{
	fork_guarded = pthread_atfork(NULL, NULL, public_random_forget) == 0;
}

static void public_random_bytes(unsigned char *out, size_t n)
{
	if (pthread_once(&fork_once, fork_guard) != 0 || !fork_guarded) {
		randombytes_buf(out, n); /* no buffer without the guard */
		return;
	}
	while (n > 0) {
		size_t take;
		if (public_random_left == 0) {
			randombytes_buf(public_random, sizeof public_random);
			public_random_left = sizeof public_random;
		}
		take = n < public_random_left ? n : public_random_left;
		memcpy(out,
		       public_random + sizeof public_random -
			       public_random_left,
		       take);
		/* Handed-out bytes are not kept: no one can learn a nonce
		 * from what is left behind. */
		sodium_memzero(public_random + sizeof public_random -
				       public_random_left,
			       take);
		public_random_left -= take;
		out += take;
		n -= take;
	}
}

static int aead_seal(const unsigned char *key, const unsigned char *ad,
		     size_t adlen, const unsigned char *pt, size_t ptlen,
		     unsigned char *out)
{
	if (ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return -1;
	public_random_bytes(out, SEC_NONCE_BYTES);
	return crypto_aead_xchacha20poly1305_ietf_encrypt(
		       out + SEC_NONCE_BYTES, NULL, pt, ptlen, ad, adlen, NULL,
		       out, key) == 0
		       ? 0
		       : -1;
}

static int aead_open(const unsigned char *key, const unsigned char *ad,
		     size_t adlen, const unsigned char *in, size_t inlen,
		     unsigned char *pt_out)
{
	if (inlen < SEC_SEAL_OVERHEAD)
		return -1;
	/* On failure libsodium zeroes pt_out, so no forged plaintext leaks. */
	return crypto_aead_xchacha20poly1305_ietf_decrypt(
		       pt_out, NULL, NULL, in + SEC_NONCE_BYTES,
		       inlen - SEC_NONCE_BYTES, ad, adlen, in, key) == 0
		       ? 0
		       : -1;
}

int sec_wrap(const unsigned char *kek, const char *ad, const unsigned char *key,
	     unsigned char out[SEC_WRAPPED_BYTES])
{
	unsigned char adbuf[AD_BUF];
	size_t adlen;

	if (kek == NULL || ad == NULL || key == NULL || out == NULL)
		return -1;
	adlen = build_ad(adbuf, sizeof adbuf, WRAP_CTX, sizeof WRAP_CTX - 1, ad,
			 NULL);
	if (adlen == 0)
		return -1;
	return aead_seal(kek, adbuf, adlen, key, SEC_KEY_BYTES, out);
}

int sec_unwrap(const unsigned char *kek, const char *ad,
	       const unsigned char in[SEC_WRAPPED_BYTES],
	       unsigned char *key_out)
{
	unsigned char adbuf[AD_BUF];
	size_t adlen;

	if (kek == NULL || ad == NULL || in == NULL || key_out == NULL)
		return -1;
	adlen = build_ad(adbuf, sizeof adbuf, WRAP_CTX, sizeof WRAP_CTX - 1, ad,
			 NULL);
	if (adlen == 0)
		return -1;
	return aead_open(kek, adbuf, adlen, in, SEC_WRAPPED_BYTES, key_out);
}

int sec_seal(const unsigned char *key, const char *subject, const char *field,
	     const unsigned char *pt, size_t ptlen, unsigned char *out)
{
	unsigned char adbuf[AD_BUF];
	size_t adlen;

	if (key == NULL || subject == NULL || field == NULL || out == NULL ||
	    (pt == NULL && ptlen != 0))
		return -1;
	adlen = build_ad(adbuf, sizeof adbuf, SEAL_CTX, sizeof SEAL_CTX - 1,
			 subject, field);
	if (adlen == 0)
		return -1;
	return aead_seal(key, adbuf, adlen, pt, ptlen, out);
}

int sec_open(const unsigned char *key, const char *subject, const char *field,
	     const unsigned char *ct, size_t ctlen, unsigned char *pt_out)
{
	unsigned char adbuf[AD_BUF];
	size_t adlen;

	if (key == NULL || subject == NULL || field == NULL || ct == NULL ||
	    ctlen < SEC_SEAL_OVERHEAD ||
	    (pt_out == NULL && ctlen != SEC_SEAL_OVERHEAD))
		return -1;
	adlen = build_ad(adbuf, sizeof adbuf, SEAL_CTX, sizeof SEAL_CTX - 1,
			 subject, field);
	if (adlen == 0)
		return -1;
	return aead_open(key, adbuf, adlen, ct, ctlen, pt_out);
}

/* ---- keyed hashes ------------------------------------------------------- */

/* The blind index's input after its key: streamed so the normalised value
 * is never copied; the NULs keep ("ab","c") and ("a","bc") apart. Wipes
 * the state. */
static void bidx_finish(crypto_generichash_state *st, const char *field,
			const char *normalised,
			unsigned char out[SEC_BIDX_BYTES])
{
	crypto_generichash_update(st, (const unsigned char *)BIDX_CTX,
				  sizeof BIDX_CTX);
	crypto_generichash_update(st, (const unsigned char *)field,
				  strlen(field) + 1);
	crypto_generichash_update(st, (const unsigned char *)normalised,
				  strlen(normalised));
	crypto_generichash_final(st, out, SEC_BIDX_BYTES);
	sodium_memzero(st, sizeof *st);
}

void sec_blind_index(const unsigned char *ikey, const char *field,
		     const char *normalised, unsigned char out[SEC_BIDX_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, ikey, SEC_KEY_BYTES, SEC_BIDX_BYTES);
	bidx_finish(&st, field, normalised, out);
}

int sec_pwhash(const char *password, char out[SEC_PWHASH_BYTES])
{
	if (password == NULL || out == NULL)
		return -1;
	/* The algorithm is named, not left to libsodium's default. */
	return crypto_pwhash_str_alg(out, password, strlen(password),
				     crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE,
				     crypto_pwhash_ALG_ARGON2ID13) == 0
		       ? 0
		       : -1;
}

int sec_pwverify(const char *hash, const char *password)
{
	if (hash == NULL || password == NULL)
		return -1;
	/* libsodium reads the hash as a string of at most STRBYTES. */
	if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0
		       ? 0
		       : -1;
}

void sec_chain(const unsigned char *akey,
	       const unsigned char prev[SEC_HASH_BYTES],
	       const unsigned char *msg, size_t len,
	       unsigned char out[SEC_HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, akey, SEC_KEY_BYTES, SEC_HASH_BYTES);
	crypto_generichash_update(&st, prev, SEC_HASH_BYTES);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, out, SEC_HASH_BYTES);
	sodium_memzero(&st, sizeof st);
}

void sec_pseudonym(const unsigned char *dk, char out[33])
{
	unsigned char h[16];

	crypto_generichash(h, sizeof h, (const unsigned char *)PSEUDO_MSG,
			   sizeof PSEUDO_MSG - 1, dk, SEC_KEY_BYTES);
	sodium_bin2hex(out, 33, h, sizeof h);
}

/* ---- small helpers ------------------------------------------------------ */

void sec_random(void *buf, size_t n)
{
	randombytes_buf(buf, n);
}

void sec_random_id(char out[33])
{
	unsigned char b[16];

	public_random_bytes(b, sizeof b);
	sodium_bin2hex(out, 33, b, sizeof b);
}

void sec_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

int sec_memcmp(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0 ? 0 : -1;
}

void sec_hex(const unsigned char *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

/* ---- tokens and signatures ---- */

#define TOKEN_CTX "rekisteri actor token v1"

_Static_assert(SEC_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES,
	       "Ed25519 public key size");
_Static_assert(SEC_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES,
	       "Ed25519 secret key size");
_Static_assert(SEC_SIGN_BYTES == crypto_sign_BYTES, "Ed25519 signature size");

void sec_token_new(char out[SEC_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, SEC_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void sec_token_hash(const char *token, unsigned char out[SEC_HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SEC_HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)TOKEN_CTX,
				  sizeof TOKEN_CTX);
	crypto_generichash_update(&st, (const unsigned char *)token,
				  strlen(token));
	crypto_generichash_final(&st, out, SEC_HASH_BYTES);
	sodium_memzero(&st, sizeof st);
}

/* ---- row MACs ---- */

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(sec_mac),
	       "MAC state size");
_Static_assert(_Alignof(crypto_generichash_state) <= 64, "MAC state align");

#define MAC_NULL UINT64_MAX /* length that marks an absent item */

static crypto_generichash_state *mac_state(sec_mac *m)
{
	return (crypto_generichash_state *)(void *)m->st;
}

static void mac_u64(sec_mac *m, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(mac_state(m), b, sizeof b);
}

void sec_mac_init(sec_mac *m, const unsigned char *key, const char *ctx)
{
	memset(m, 0, sizeof *m); /* a defined state before libsodium's */
	crypto_generichash_init(mac_state(m), key, SEC_KEY_BYTES,
				SEC_HASH_BYTES);
	sec_mac_str(m, ctx);
}

void sec_mac_bytes(sec_mac *m, const void *p, size_t n)
{
	if (p == NULL) {
		mac_u64(m, MAC_NULL);
		return;
	}
	mac_u64(m, (uint64_t)n);
	crypto_generichash_update(mac_state(m), p, n);
}

void sec_mac_str(sec_mac *m, const char *s)
{
	sec_mac_bytes(m, s, s == NULL ? 0 : strlen(s));
}

void sec_mac_int(sec_mac *m, int64_t v)
{
	mac_u64(m, (uint64_t)v);
}

void sec_mac_final(sec_mac *m, unsigned char out[SEC_HASH_BYTES])
{
	crypto_generichash_final(mac_state(m), out, SEC_HASH_BYTES);
	sodium_memzero(m, sizeof *m);
}

void sec_key_derive(const unsigned char *key, const char *ctx,
		    unsigned char *out)
{
	crypto_generichash(out, SEC_KEY_BYTES, (const unsigned char *)ctx,
			   strlen(ctx), key, SEC_KEY_BYTES);
}

unsigned char *sec_buf_alloc(size_t n)
{
	return n == 0 ? NULL : sodium_malloc(n);
}

void sec_buf_free(unsigned char *p)
{
	if (p != NULL)
		sodium_free(p); /* wipes first */
}

unsigned char *sec_sign_sk_alloc(void)
{
	return sodium_malloc(SEC_SIGN_SK_BYTES);
}

void sec_sign_sk_free(unsigned char *sk)
{
	if (sk != NULL)
		sodium_free(sk);
}

int sec_sign_seed_keypair(const unsigned char *seed,
			  unsigned char pk[SEC_SIGN_PK_BYTES],
			  unsigned char *sk)
{
	_Static_assert(SEC_KEY_BYTES == crypto_sign_SEEDBYTES,
		       "a register key serves as a signing seed");
	return crypto_sign_seed_keypair(pk, sk, seed) == 0 ? 0 : -1;
}

void sec_sign(const unsigned char *sk, const unsigned char *msg, size_t len,
	      unsigned char sig[SEC_SIGN_BYTES])
{
	crypto_sign_detached(sig, NULL, msg, (unsigned long long)len, sk);
}

int sec_sign_verify(const unsigned char pk[SEC_SIGN_PK_BYTES],
		    const unsigned char *msg, size_t len,
		    const unsigned char sig[SEC_SIGN_BYTES])
{
	return crypto_sign_verify_detached(sig, msg, (unsigned long long)len,
					   pk) == 0
		       ? 0
		       : -1;
}

int sec_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t got = 0;
	const char *end = NULL;

	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 ||
	    got != n || end == NULL || *end != '\0')
		return -1;
	return 0;
}

/* ---- speed: keyed BLAKE2b states made once per key (see crypto.h) ---- */

struct sec_kst {
	crypto_generichash_state st;
	unsigned char key[SEC_KEY_BYTES];
	size_t outlen;
	int ready;
};

void sec_kst_free(sec_kst *ks)
{
	if (ks != NULL)
		sodium_free(ks); /* wipes */
}

/* Whether two keys differ, in constant time like sodium_memcmp but in
 * words: this runs before every keyed hash, and sodium_memcmp's byte loop
 * cost as much as the key set-up it saves. */
static int key_differs(const unsigned char *a, const unsigned char *b)
{
	uint64_t x, y, d = 0;

	for (size_t i = 0; i < SEC_KEY_BYTES; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	return d != 0;
}

/* The state for key and outlen in *slot, made if missing or stale; NULL
 * when there is no slot or no memory for one. */
static const crypto_generichash_state *
kst_get(sec_kst **slot, const unsigned char *key, size_t outlen)
{
	sec_kst *ks = slot == NULL ? NULL : *slot;

	if (slot == NULL)
		return NULL;
	if (ks == NULL) {
		/* sodium_malloc aligns the end of the block to a page: a
		 * size that is a multiple of the state's alignment keeps its
		 * start aligned too. */
		_Static_assert(sizeof(sec_kst) % _Alignof(sec_kst) == 0,
			       "kst size");
		ks = sodium_malloc(sizeof *ks);
		if (ks == NULL ||
		    ((uintptr_t)ks & (_Alignof(sec_kst) - 1)) != 0) {
			if (ks != NULL)
				sodium_free(ks);
			return NULL;
		}
		ks->ready = 0;
		*slot = ks;
	}
	if (!ks->ready || ks->outlen != outlen || key_differs(ks->key, key)) {
		crypto_generichash_init(&ks->st, key, SEC_KEY_BYTES, outlen);
		memcpy(ks->key, key, SEC_KEY_BYTES);
		ks->outlen = outlen;
		ks->ready = 1;
	}
	return &ks->st;
}

void sec_chain_ks(sec_kst **slot, const unsigned char *akey,
		  const unsigned char prev[SEC_HASH_BYTES],
		  const unsigned char *msg, size_t len,
		  unsigned char out[SEC_HASH_BYTES])
{
	const crypto_generichash_state *ks =
		kst_get(slot, akey, SEC_HASH_BYTES);
	crypto_generichash_state st;

	if (ks == NULL) {
		sec_chain(akey, prev, msg, len, out);
		return;
	}
	memcpy(&st, ks, sizeof st);
	crypto_generichash_update(&st, prev, SEC_HASH_BYTES);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, out, SEC_HASH_BYTES);
	sodium_memzero(&st, sizeof st);
}

void sec_blind_index_ks(sec_kst **slot, const unsigned char *ikey,
			const char *field, const char *normalised,
			unsigned char out[SEC_BIDX_BYTES])
{
	const crypto_generichash_state *ks =
		kst_get(slot, ikey, SEC_BIDX_BYTES);
	crypto_generichash_state st;

	if (ks == NULL) {
		sec_blind_index(ikey, field, normalised, out);
		return;
	}
	memcpy(&st, ks, sizeof st);
	bidx_finish(&st, field, normalised, out);
}
