/*
 * keys_int.h: what the key module's files share (keys.c: rotation, recovery
 * and the keyring; keys_load.c: a handle's keys kept current; keys_data.c: a
 * subject's ciphertexts, the blind index, re-encryption; backup.c: backups and
 * restores). Never used elsewhere.
 */
#ifndef RK_KEYS_INT_H
#define RK_KEYS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "register.h"
#include "store.h"

#define KEYS_PATH_MAX 4200
#define ROTATE_PAGE   500

/* The register keys' names are in register.h. */
/* Sealed under the master key: retired master keys, and the public keys
 * of retired checkpoint signing keys. */
#define META_KEYRING	  "keyring"
#define META_SIGN_RETIRED "audit_sign_retired"
#define SEAL_SUBJECT	  "register"
/* A keyring entry: key id (hex), retired at (8 bytes big-endian Unix
 * seconds), the key. */
#define RING_ENTRY (SEC_KEYID_HEX + 8 + SEC_KEY_BYTES)
#define RING_MAX   256
#define SIGN_MAX   256
#define META_MAX   ((size_t)1 << 30)

/* ---- keys_load.c ---- */

/* The file a rotation writes its new key to before the commit. */
#define KEY_NEW_SUFFIX ".new"
/* "<key_path>.new" into out. */
rk_status keys_new_key_path(rk_register *r, const char *key_path,
			    char out[KEYS_PATH_MAX]);
/* Takes the rotation's exclusive flock on the key file: the descriptor, or
 * -1 with errno (EWOULDBLOCK: held elsewhere). */
int keys_lock_file(const char *path);
/* The id of the key in the key file at path; -1 when it cannot be read. */
int keys_file_key_id(const char *path, char kid[SEC_KEYID_HEX + 1]);
/* Step 3 of a rotation: "<key file>.new" (np) becomes the key file. */
rk_status keys_finish_rename(rk_register *r, const char *np,
			     const char *key_path, const char *want_id);
/* A retired signing key: its public key and the last audit entry (8 bytes
 * big-endian) it may have signed a checkpoint of, so that whoever still
 * holds the old key cannot vouch for anything newer. */
#define KEYS_SIGNER_ENTRY (SEC_SIGN_PK_BYTES + 8)
/* The retired signing keys (KEYS_SIGNER_ENTRY bytes each), as sealed under
 * mk; *pks NULL when there are none. */
rk_status keys_signers_load(rk_register *r, const unsigned char *mk,
			    unsigned char **pks, size_t *n);

/* The master key id the database holds ("" when it has another shape):
 * 0, STORE_NOTFOUND or STORE_ERR. */
int keys_stored_id(rk_register *r, char out[SEC_KEYID_HEX + 1]);
/* A meta value of any size into a new buffer; *out NULL when absent. */
rk_status keys_meta_read_all(rk_register *r, const char *name,
			     unsigned char **out, size_t *len);

/* Retired master keys, sealed under the current one: they open backups
 * made under them, and nothing else. In guarded memory. */
struct ring {
	unsigned char *buf; /* RING_MAX entries of RING_ENTRY bytes */
	size_t n;
};
/* The keyring as the database holds it, opened with mk. */
rk_status keys_ring_load(rk_register *r, const unsigned char *mk,
			 struct ring *g);
void keys_ring_free(struct ring *g);
unsigned char *keys_ring_entry(const struct ring *g, size_t i);
/* The entry of key id kid, or -1. */
long keys_ring_find(const struct ring *g, const char *kid);

/* A page of subjects collected before they are changed, so that no walk
 * runs under updates (keys_collect is the subject_list callback). */
struct keys_page {
	store_subject *rows;
	size_t n;
};
int keys_collect(void *ud, const store_subject *s);

/* ---- keys_data.c ---- */

/* The subject's blind indexes again, under ikey. */
rk_status keys_rebuild_bidx(rk_register *r, const store_subject *s,
			    const unsigned char *dk, const unsigned char *ikey);
/* Every ciphertext of subject sid opens with dk. */
rk_status keys_subject_decrypts(rk_register *r, const char *sid,
				const unsigned char *dk);
/* The subject's consent evidence that does not open with dk but with ldk
 * (its data key before a restore brought back an older one) is sealed
 * again under dk. */
rk_status keys_reseal_evidence(rk_register *r, const char *sid,
			       const unsigned char *dk,
			       const unsigned char *ldk);

/* Inside a restore's write: a re-encryption under way or done starts
 * over (the restored subjects came back under the backup's data keys). */
rk_status keys_reencrypt_reset(rk_register *r);

#endif
