#!/usr/bin/env bash
# sqlite-only: the SQLite write-ahead log and its checkpoint
# Attack: another process reads the register (an open read transaction)
# while a subject is erased, so the erasure's checkpoint cannot empty the
# write-ahead log ("log_cleared": false), which then still holds the
# subject's wrapped data key and ciphertexts, which the master key opens.
# The owed checkpoint is noted in the register: the next write of any
# connection, once the reader has finished, empties the log.
. "$(dirname "$0")/e2e-common.sh"
command -v python3 >/dev/null || { echo "python3 needed"; exit 77; }

IN='' check "init" 0 "$BIN" init --policy "$POLICY"
IN='' check "another subject" 0 "$BIN" subject add --kind customer \
	--field first_name=Saara --field last_name=Pysyva --field email=s@example.com

# A reader that holds a read transaction until told, then keeps its
# connection open until told again.
cat >"$WORK/reader.py" <<'PY'
import os, sqlite3, sys, time
db, d = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM subject").fetchall()
open(d + "/reading", "w").close()
while not os.path.exists(d + "/end-read"):
    time.sleep(0.05)
c.execute("COMMIT")
open(d + "/idle", "w").close()
while not os.path.exists(d + "/close"):
    time.sleep(0.05)
c.close()
PY
python3 "$WORK/reader.py" "$REKISTERI_DB" "$WORK" &
READER=$!
e2e_stop() { touch "$WORK/end-read" "$WORK/close"; wait "$READER" 2>/dev/null; }
while [ ! -e "$WORK/reading" ]; do sleep 0.05; done

IN='' check "a subject to erase" 0 "$BIN" subject add --kind customer \
	--field first_name=Eino --field last_name=Poistettava \
	--field email=eino.poistettava@example.com
A=$out
key=$(rows "SELECT hex(wrapped_key) FROM subject WHERE id = '$A'")
IN='' check "erase while the other process reads" 0 "$BIN" --json erase "$A"
touch "$WORK/end-read"
while [ ! -e "$WORK/idle" ]; do sleep 0.05; done
IN='' check "a later write" 0 "$BIN" subject add --kind customer \
	--field first_name=Uusi --field last_name=Asiakas --field email=u@example.com
found=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read() if __import__("os").path.exists(sys.argv[1]) else b""; print(1 if bytes.fromhex(sys.argv[2]) in d else 0)' "$REKISTERI_DB-wal" "$key")
expect "the erased subject's wrapped data key is not left in the WAL" test "$found" = 0
e2e_finish
