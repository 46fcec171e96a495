#!/usr/bin/env bash
# Attack: cut the audit trail through the row-MAC upgrade. As in
# e2e_attack2_mac_strip_upgrade, but the last audit entry (the consent
# withdrawal) is deleted too and so is the kept head in meta 'audit_head'.
# The upgrade adopts whatever head the trail now has: the withdrawal and its
# entry are gone, and `audit verify` says the trail is intact.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino
IN='' check "consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "withdraw" 0 "$BIN" consent withdraw "$A" email_marketing
rows "DELETE FROM audit WHERE action = 'consent.withdraw';
DELETE FROM consent WHERE id = (SELECT max(id) FROM consent);
DELETE FROM meta WHERE key IN ('row_key', 'actor_set', 'policy_mac',
                               'audit_head');
UPDATE meta SET value = x'01' WHERE key = 'row_macs_pending';
UPDATE subject SET mac = NULL, vdigest = NULL, chead = NULL, rhead = NULL;
UPDATE consent SET mac = NULL;
UPDATE actor SET mac = NULL;"
IN='' check "a trail cut at its end, head and MACs removed, is detected" 5 \
	"$BIN" audit verify
e2e_finish
