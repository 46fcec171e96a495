#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   pg-cluster.sh start DIR   initdb in DIR/data as a non-root user, a server
#                             listening only on a Unix socket in DIR (no TCP);
#                             prints the socket folder
#   pg-cluster.sh stop DIR    stops it and removes DIR
# As root (CI), the cluster runs as the system user rekisteri-test, made
# with useradd when missing: PostgreSQL refuses to run as root. The caller
# stops it from a trap, so that a failed test leaves nothing running.
# Connect with postgresql:///DB?host=DIR&user=postgres.
set -euo pipefail

PG_USER=rekisteri-test

pg_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	echo "pg-cluster: no initdb found (install Debian's postgresql)" >&2
	return 1
}

# as_owner CMD...: runs CMD as the cluster's owner
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

start() {
	local dir=$1 bin
	bin=$(pg_bin)
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		if ! id "$PG_USER" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin \
				"$PG_USER"
		fi
		chown "$PG_USER" "$dir"
	fi
	# The socket must be reachable by the tests' user; the data stays
	# the owner's (initdb makes it 0700).
	chmod 0755 "$dir"
	# The folders above a mktemp dir under a build tree may be closed
	# to the owner: it needs to reach DIR.
	local up=$dir
	while [ "$(id -u)" -eq 0 ] && [ "$up" != / ]; do
		up=$(dirname "$up")
		[ -x "$up" ] || break
		if ! runuser -u "$PG_USER" -- test -x "$up"; then
			chmod o+x "$up"
		fi
	done
	as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust \
		--locale=C -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	# Speed over durability: the cluster lives as long as a test run.
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $dir -c fsync=off \
-c full_page_writes=off -c max_connections=100" start >/dev/null || {
		cat "$dir/server.log" >&2
		return 1
	}
	echo "$dir"
}

stop() {
	local dir=$1 bin
	bin=$(pg_bin)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case ${1:-} in
start) start "${2:?pg-cluster.sh start DIR}" ;;
stop) stop "${2:?pg-cluster.sh stop DIR}" ;;
bin) pg_bin ;;
*)
	echo "usage: pg-cluster.sh start|stop DIR" >&2
	exit 2
	;;
esac
