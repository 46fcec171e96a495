# Sourced by the end-to-end scripts that drive Chromium: browser_setup
# puts tests/browser's package files and the named test scripts into
# $BUILD/browser and installs playwright-core there once (npm ci, pinned
# by the lock file). Scripts run in parallel, so the install holds a lock.
# npm trusts the system's certificate store as curl and apt do (a machine
# whose registry traffic goes through its own CA has that CA there).
browser_setup() {
	BR="$BUILD/browser"
	mkdir -p "$BR" || return 1
	cp "$SRC/tests/browser/package.json" "$SRC/tests/browser/package-lock.json" \
		"$@" "$BR/" || return 1
	(
		flock 9
		[ -d "$BR/node_modules/playwright-core" ] && exit 0
		ca=()
		[ -r /etc/ssl/certs/ca-certificates.crt ] && ca=(--cafile=/etc/ssl/certs/ca-certificates.crt)
		cd "$BR" && npm ci --no-audit --no-fund --loglevel=error "${ca[@]}"
	) 9>"$BUILD/browser.lock"
}
