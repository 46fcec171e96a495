/*
 * crypto.h: the only module that calls libsodium. Keys, key wrapping,
 * field sealing (XChaCha20-Poly1305), blind indexes (keyed BLAKE2b),
 * password hashes (Argon2id), the audit chain MAC, pseudonyms.
 *
 * Keys are SEC_KEY_BYTES long and live in memory from sec_key_new /
 * sec_key_alloc (guarded, locked, wiped on sec_key_free).
 * Functions returning int give 0 on success and -1 on failure.
 */
#ifndef RK_CRYPTO_H
#define RK_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SEC_KEY_BYTES	  32
#define SEC_NONCE_BYTES	  24
#define SEC_TAG_BYTES	  16
#define SEC_SEAL_OVERHEAD (SEC_NONCE_BYTES + SEC_TAG_BYTES)
#define SEC_WRAPPED_BYTES (SEC_KEY_BYTES + SEC_SEAL_OVERHEAD)
#define SEC_BIDX_BYTES	  16
#define SEC_HASH_BYTES	  32
#define SEC_PWHASH_BYTES  128
#define SEC_KEYID_HEX	  16

/* Initialises libsodium; safe to call more than once. */
int sec_init(void);

/* A fresh random key in guarded memory, or NULL when out of memory. */
unsigned char *sec_key_new(void);
/* Guarded memory for a key, contents unspecified. */
unsigned char *sec_key_alloc(void);
/* Wipes and frees; NULL allowed. */
void sec_key_free(unsigned char *key);

/* Guarded memory of n bytes for secrets longer than a key (a keyring);
 * sec_buf_free wipes it. */
unsigned char *sec_buf_alloc(size_t n);
void sec_buf_free(unsigned char *p);

/* Creates a key file holding a new random key: O_EXCL (never overwrites),
 * mode 0600, fsynced with its directory. The key is also written to key_out.
 * err receives a message without secrets. */
int sec_keyfile_create(const char *path, unsigned char *key_out, char *err,
		       size_t errlen);
/* Reads a key file; refuses one readable or writable by group or others. */
int sec_keyfile_load(const char *path, unsigned char *key_out, char *err,
		     size_t errlen);
/* Atomically replaces a key file (temporary file, fsync, rename, fsync dir). */
int sec_keyfile_replace(const char *path, const unsigned char *key, char *err,
			size_t errlen);

/* A short public identifier of a key (hex, SEC_KEYID_HEX chars + NUL), so a
 * register can tell a wrong key file from damaged data. It is the first 8
 * bytes of a keyed BLAKE2b-128 of a constant. */
void sec_key_id(const unsigned char *key, char out[SEC_KEYID_HEX + 1]);

/* Wraps key under kek with associated data ad (e.g. the subject ID, at most
 * 200 bytes; -1 if longer). */
int sec_wrap(const unsigned char *kek, const char *ad, const unsigned char *key,
	     unsigned char out[SEC_WRAPPED_BYTES]);
/* Unwraps; -1 when the wrap was made with another kek or ad, or altered. */
int sec_unwrap(const unsigned char *kek, const char *ad,
	       const unsigned char in[SEC_WRAPPED_BYTES],
	       unsigned char *key_out);

/* Seals pt with a random nonce; subject and field (at most 200 bytes each,
 * else -1) are bound as associated data. out must hold ptlen +
 * SEC_SEAL_OVERHEAD bytes: nonce || ct || tag, and must not overlap pt. */
int sec_seal(const unsigned char *key, const char *subject, const char *field,
	     const unsigned char *pt, size_t ptlen, unsigned char *out);
/* Opens what sec_seal made; pt_out holds ctlen - SEC_SEAL_OVERHEAD bytes.
 * -1 on a short input, another key, subject or field, or any alteration. */
int sec_open(const unsigned char *key, const char *subject, const char *field,
	     const unsigned char *ct, size_t ctlen, unsigned char *pt_out);

/* Blind index of a normalised lookup value, separated by field name. */
void sec_blind_index(const unsigned char *ikey, const char *field,
		     const char *normalised, unsigned char out[SEC_BIDX_BYTES]);

/* Argon2id string hash (libsodium's interactive limits); out holds
 * SEC_PWHASH_BYTES. */
int sec_pwhash(const char *password, char out[SEC_PWHASH_BYTES]);
/* 0 when password matches hash, -1 otherwise. */
int sec_pwverify(const char *hash, const char *password);

/* Audit chain link: keyed BLAKE2b-256 over prev || msg. */
void sec_chain(const unsigned char *akey,
	       const unsigned char prev[SEC_HASH_BYTES],
	       const unsigned char *msg, size_t len,
	       unsigned char out[SEC_HASH_BYTES]);

/* A subject's audit pseudonym: derived from the subject's own data key, so
 * it can no longer be recomputed once that key is destroyed. out: hex,
 * 32 chars + NUL. */
void sec_pseudonym(const unsigned char *dk, char out[33]);

/* A new bearer token: 32 random bytes, base64url without padding
 * (SEC_TOKEN_LEN characters + NUL). */
#define SEC_TOKEN_LEN 43
void sec_token_new(char out[SEC_TOKEN_LEN + 1]);
/* The hash under which a token is stored (BLAKE2b-256, domain-separated);
 * a token has 256 bits of entropy, so a fast hash is enough. */
void sec_token_hash(const char *token, unsigned char out[SEC_HASH_BYTES]);

/* Keyed MAC (BLAKE2b-256) over a sequence of typed items, for the rows
 * whose columns decide access. Each item is framed with its length, so
 * ("ab","c") and ("a","bc") differ and NULL differs from "". The state is
 * opaque here; sec_mac_final wipes it. */
typedef struct sec_mac {
	_Alignas(64) unsigned char st[384];
} sec_mac;
void sec_mac_init(sec_mac *m, const unsigned char *key, const char *ctx);
void sec_mac_bytes(sec_mac *m, const void *p, size_t n);
void sec_mac_str(sec_mac *m, const char *s); /* NULL allowed */
void sec_mac_int(sec_mac *m, int64_t v);
void sec_mac_final(sec_mac *m, unsigned char out[SEC_HASH_BYTES]);
/* A sub-key of key for the purpose named by ctx (keyed BLAKE2b). */
void sec_key_derive(const unsigned char *key, const char *ctx,
		    unsigned char *out);

/* Ed25519 for audit checkpoints. The key pair is derived from a 32-byte
 * seed, which is kept like any other register key (sec_wrap); the secret
 * key (SEC_SIGN_SK_BYTES) lives in guarded memory from sec_sign_sk_alloc. */
#define SEC_SIGN_PK_BYTES 32
#define SEC_SIGN_SK_BYTES 64
#define SEC_SIGN_BYTES	  64
unsigned char *sec_sign_sk_alloc(void);
void sec_sign_sk_free(unsigned char *sk);
int sec_sign_seed_keypair(const unsigned char *seed,
			  unsigned char pk[SEC_SIGN_PK_BYTES],
			  unsigned char *sk);
void sec_sign(const unsigned char *sk, const unsigned char *msg, size_t len,
	      unsigned char sig[SEC_SIGN_BYTES]);
/* 0 when sig is pk's signature of msg. */
int sec_sign_verify(const unsigned char pk[SEC_SIGN_PK_BYTES],
		    const unsigned char *msg, size_t len,
		    const unsigned char sig[SEC_SIGN_BYTES]);
/* Hex to bytes: 0 when hex is exactly 2n hex digits. */
int sec_unhex(const char *hex, unsigned char *out, size_t n);

void sec_random(void *buf, size_t n);
/* 16 random bytes as 32 lower-case hex characters + NUL. */
void sec_random_id(char out[33]);
void sec_wipe(void *p, size_t n);
/* Constant-time comparison: 0 when equal. */
int sec_memcmp(const void *a, const void *b, size_t n);
void sec_hex(const unsigned char *in, size_t n, char *out /* 2n+1 */);

/* ---- speed: keyed BLAKE2b states made once per key ----
 * A keyed BLAKE2b hash starts by setting up its state from the key; a
 * sec_kst keeps that state for one key and output length, and each hash
 * copies it instead. It is made again whenever the key's bytes differ from
 * the ones it was made from, so a rotated key (copied over, or a new
 * buffer) never meets a stale state. It holds a copy of the key, in
 * guarded memory; sec_kst_free wipes it. The outputs are the same as
 * without. A slot that is NULL is filled on first use; if that fails the
 * hash is computed without it. */
typedef struct sec_kst sec_kst;
void sec_kst_free(sec_kst *ks);
void sec_chain_ks(sec_kst **slot, const unsigned char *akey,
		  const unsigned char prev[SEC_HASH_BYTES],
		  const unsigned char *msg, size_t len,
		  unsigned char out[SEC_HASH_BYTES]);
void sec_blind_index_ks(sec_kst **slot, const unsigned char *ikey,
			const char *field, const char *normalised,
			unsigned char out[SEC_BIDX_BYTES]);

#endif
