#!/usr/bin/env bash
# Installs the build into a staging prefix, then compiles and runs a small
# program against the installed header, pkg-config file and shared library.
#   check-install.sh BUILD_DIR CC CONSUMER.c   (run from a scratch directory)
set -euo pipefail
build=$1
cc=$2
src=$3
cmake=${CMAKE_COMMAND:-cmake}
stage=$PWD/stage

rm -rf "$stage"
"$cmake" --install "$build" --prefix "$stage" >install.log

pcdir=$(dirname "$(find "$stage" -name rekisteri.pc -print -quit)")
[ -f "$pcdir/rekisteri.pc" ] || { echo "rekisteri.pc not installed" >&2; exit 1; }
[ -f "$stage/include/rekisteri.h" ] || { echo "header not installed" >&2; exit 1; }
[ -f "$stage/share/man/man1/rekisteri.1" ] || { echo "man page not installed" >&2; exit 1; }
if [ -x "$build/rekisteri" ]; then
	[ -x "$stage/bin/rekisteri" ] || { echo "rekisteri binary not installed" >&2; exit 1; }
fi

export PKG_CONFIG_PATH=$pcdir
pc=(pkg-config --define-variable=prefix="$stage" rekisteri)
"${pc[@]}" --exists --print-errors
ver=$(pkg-config --modversion rekisteri)
# shellcheck disable=SC2046
"$cc" -std=c17 -Wall -Wextra -Werror -o consumer "$src" \
	$("${pc[@]}" --cflags) $("${pc[@]}" --libs)
libdir=$("${pc[@]}" --variable=libdir)
readelf -d consumer | grep -q 'NEEDED.*librekisteri\.so\.0' || {
	echo "consumer does not link librekisteri.so.0" >&2
	exit 1
}
LD_LIBRARY_PATH=$libdir ./consumer
echo "installed librekisteri $ver works through pkg-config"
