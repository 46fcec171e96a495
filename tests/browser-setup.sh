# Sourced by the end-to-end scripts that drive Chromium: browser_setup
# puts tests/browser's package files and the named test scripts into
# $BUILD/browser and installs playwright-core there once (npm ci, pinned
# by the lock file). Scripts run in parallel, so the install holds a lock.
# npm trusts the system's certificate store as curl and apt do (a machine
# whose registry traffic goes through its own CA has that CA there).
# The build folder (the binary's): the browser files and screenshots go there.
BUILD=$(cd "$(dirname "$BIN")" && pwd)
# browser_skipped: true, and says so, in the sanitizer build: a browser run
# there tests only the web files, which the plain build covers.
browser_skipped() {
	grep -q '^RK_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null || return 1
	echo "# skipped the browser run under the sanitizer build: it tests the web files, which the plain build covers"
}
# browser_missing: true when node, npm or chromium is not there.
browser_missing() {
	! command -v node >/dev/null || ! command -v npm >/dev/null ||
		[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]
}
# browser_needed: ends the script, failed, without node, npm and chromium.
browser_needed() {
	browser_missing || return 0
	bad "this test needs node, npm and chromium"
	e2e_finish
	exit 1
}
# browser_skip_ends: in the sanitizer build (browser_skipped), stops the
# server and ends the script there with what it has checked.
browser_skip_ends() {
	browser_skipped || return 0
	e2e_serve_stop
	e2e_finish
	exit
}
# browser_tally RC OUTPUT: shows a browser test run's output and counts its
# "ok " and "FAIL " lines as passed and failed checks (the passes in $np);
# a run that failed without a FAIL line is a failure of its own.
browser_tally() {
	local rc=$1 out=$2 nf
	printf '%s\n' "$out" | sed 's/^/  browser: /'
	np=$(printf '%s\n' "$out" | grep -cE '^ok ')
	nf=$(printf '%s\n' "$out" | grep -cE '^FAIL ')
	pass=$((pass + np))
	fail=$((fail + nf))
	[ "$rc" -eq 0 ] || [ "$nf" -gt 0 ] || bad "the browser run (exit $rc)"
}
browser_setup() {
	BR="$BUILD/browser"
	mkdir -p "$BR" || return 1
	cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" \
		"$SRC/tests/browser/harness.mjs" "$@" "$BR/" || return 1
	(
		flock 9
		[ -d "$BR/node_modules/playwright-core" ] && exit 0
		ca=()
		[ -r /etc/ssl/certs/ca-certificates.crt ] && ca=(--cafile=/etc/ssl/certs/ca-certificates.crt)
		cd "$BR" && npm ci --no-audit --no-fund --loglevel=error "${ca[@]}"
	) 9>"$BUILD/browser.lock"
}
