/*
 * notice.h: the privacy notice rendered from a policy (notice.c) and what
 * policy changes share with it (policy_change.c).
 */
#ifndef RK_NOTICE_H
#define RK_NOTICE_H

#include <stdint.h>

#include "policy.h"
#include "register.h"

/* Renders p in Finnish or English (english) as fmt; version and stored
 * (Unix seconds) name the notice version in its closing line (version 0:
 * none, a file not stored). *out: malloc'd, caller frees. RK_ESYS when
 * out of memory. */
rk_status notice_render(const policy *p, int english, rk_notice_format fmt,
			int version, int64_t stored, char **out);

/* Loads stored notice version (0: the newest) into *text (caller frees)
 * and checks it against the MAC the register keeps for it; *stored gets
 * when it was stored, *current whether it is the newest. */
rk_status notice_load_version(rk_register *r, int version, char **text,
			      int *version_out, int64_t *stored, int *current);

/* Keeps a MAC over one stored version (meta "policy_mac_v<N>") so that the
 * older versions stay verifiable once a newer one is pinned. Inside a
 * write. */
rk_status notice_pin_version(rk_register *r, int version, const char *text);

#endif
