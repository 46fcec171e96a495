#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and fuzzing
# rekisteri need. Idempotent: when everything is installed it does nothing.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	clang libclang-rt-14-dev clang-format cppcheck
	libsodium-dev libsqlite3-dev sqlite3 libjansson-dev libcmocka-dev
	libpq-dev postgresql
	jq strace python3-jsonschema
	libmicrohttpd-dev curl wrk
	chromium nodejs
	ca-certificates
)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; make sure these (or their" \
		"equivalents) are installed: ${packages[*]}" >&2
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $status in
	*" installed") ;;
	*) missing+=("$p") ;;
	esac
done

# npm comes with some builds of nodejs and is a package of its own in
# Debian's; the browser tests install playwright-core with it.
if ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: missing packages and no root or sudo; as root run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

if ! "${sudo[@]}" apt-get update -qq ||
	! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
	echo "install-deps: could not install: ${missing[*]}" >&2
	echo "  as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
