#!/usr/bin/env bash
# Attack: a FIFO in the web directory hangs the server. The
# static file server opens a name that passes the alphabet check with
# openat(O_RDONLY | O_NOFOLLOW) and only then checks (fstat) that it is a
# regular file; open(2) of a FIFO blocks until a writer comes, so each
# request for /assets/x.js holds a worker thread for good. With --threads 2
# two requests stop every answer, /healthz included, and SIGTERM no longer
# ends the server within its grace. Anyone who can make a file in the web
# directory (a deploy step, a shared volume) can do it. Opening with
# O_NONBLOCK (then fstat, then clearing it) or fstatat before the open
# would refuse it with 404.
. "$(dirname "$0")/e2e-common.sh"
. "$(dirname "$0")/e2e-attack5-server.sh"

check "init" 0 "$BIN" init --policy "$POLICY"
WEBDIR="$WORK/web"
mkdir -p "$WEBDIR"
cp "$SRC"/web/* "$WEBDIR/"
mkfifo "$WEBDIR/pipe.js" || { bad "mkfifo"; e2e_finish; exit 1; }
e2e_must "the server starts" start
for i in 1 2 3; do
	code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$U/assets/pipe.js")
	if [ "$code" = 404 ]; then ok "a FIFO is not served ($i)"; else bad "a FIFO is not served ($i): status $code"; fi
done
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$U/healthz")
if [ "$code" = 200 ]; then ok "the server still answers"; else bad "the server still answers (status $code)"; fi
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$U/assets/style.css")
if [ "$code" = 200 ]; then ok "other assets are still served"; else bad "other assets are still served (status $code)"; fi
# a hung server ignores SIGTERM past its grace: end it for good, then
# unblock nothing (the FIFO goes with $WORK)
if [ -n "$SPID" ]; then
	kill -TERM "$SPID" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SPID" 2>/dev/null; then
		bad "the server ends on SIGTERM within its grace"
		kill -KILL "$SPID" 2>/dev/null
	else
		ok "the server ends on SIGTERM within its grace"
	fi
	wait "$SPID" 2>/dev/null
	SPID=
fi
e2e_finish
