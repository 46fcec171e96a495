#!/usr/bin/env bash
# Attack: launder edits through the row-MAC upgrade. A register made by
# `init` gets its row key at once, so its trail never holds the
# register.upgrade entry that the upgrade looks for to refuse a second
# binding. Someone who can write the database file but holds no key deletes
# a consent withdrawal, strips every MAC column, deletes the row key, the
# actor-set and policy pins and sets row_macs_pending: the next open takes
# the register for one from before row MACs and binds the edited rows as
# they are. The withdrawn consent is back (may-contact says yes) and
# `audit verify` reports trail and rows intact.
. "$(dirname "$0")/e2e-common.sh"

e2e_aino email=aino@example.com
IN='' check "consent" 0 "$BIN" consent give "$A" email_marketing
IN='' check "withdraw" 0 "$BIN" consent withdraw "$A" email_marketing
IN='' check "may not contact" 4 "$BIN" may-contact "$A" --channel email
rows "DELETE FROM consent WHERE id = (SELECT max(id) FROM consent);
DELETE FROM meta WHERE key IN ('row_key', 'actor_set', 'policy_mac');
UPDATE meta SET value = x'01' WHERE key = 'row_macs_pending';
UPDATE subject SET mac = NULL, vdigest = NULL, chead = NULL, rhead = NULL;
UPDATE consent SET mac = NULL;
UPDATE record SET mac = NULL;
UPDATE cookie SET mac = NULL;
UPDATE actor SET mac = NULL;"
# The register refuses to work on what was bound once and stripped since:
# no "yes" (exit 0) can come out of it, only the integrity failure.
IN='' check "the withdrawal deleted behind the register's back gives no yes" \
	5 "$BIN" may-contact "$A" --channel email
IN='' check "stripped MACs are detected, not bound again" 5 \
	"$BIN" audit verify
e2e_finish
