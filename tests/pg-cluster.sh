#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   pg-cluster.sh start DIR   initdb in DIR/data as a non-root user, a server
#                             listening only on a Unix socket in DIR (no TCP);
#                             prints the socket folder
#   pg-cluster.sh stop DIR    stops it and removes DIR
#   pg-cluster.sh standby PRIMARY DIR
#                             a streaming-replication standby of the
#                             cluster in PRIMARY (pg_basebackup -R), in DIR
#                             on its own Unix socket; stop it with stop DIR
#   pg-cluster.sh promote DIR the standby in DIR becomes a primary
#   pg-cluster.sh down DIR / up DIR
#                             stops a cluster keeping its data / starts it
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

# The folders above a mktemp dir under a build tree may be closed to the
# owner: it needs to reach DIR.
reach() {
	local up=$1
	while [ "$(id -u)" -eq 0 ] && [ "$up" != / ]; do
		up=$(dirname "$up")
		[ -x "$up" ] || break
		if ! runuser -u "$PG_USER" -- test -x "$up"; then
			chmod o+x "$up"
		fi
	done
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
	reach "$dir"
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

# The standby's data is a base backup of the primary with the settings
# to follow it (-R); the same owner, a socket of its own.
standby() {
	local primary=$1 dir=$2 bin
	bin=$(pg_bin)
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_USER" "$dir"
	fi
	chmod 0755 "$dir"
	reach "$dir"
	as_owner "$bin/pg_basebackup" -h "$primary" -U postgres -D "$dir/data" \
		-R -X stream --no-sync >"$dir/basebackup.log" 2>&1 || {
		cat "$dir/basebackup.log" >&2
		return 1
	}
	up "$dir" && echo "$dir"
}

# down DIR / up DIR: stops a cluster and keeps its data; starts it again
# (a standby goes on following its primary).
down() {
	local bin
	bin=$(pg_bin)
	as_owner "$bin/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
}

up() {
	local dir=$1 bin
	bin=$(pg_bin)
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $dir -c fsync=off \
-c full_page_writes=off -c max_connections=100" start >/dev/null || {
		cat "$dir/server.log" >&2
		return 1
	}
}

promote() {
	local dir=$1 bin
	bin=$(pg_bin)
	as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 promote >/dev/null
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
standby) standby "${2:?pg-cluster.sh standby PRIMARY DIR}" \
	"${3:?pg-cluster.sh standby PRIMARY DIR}" ;;
promote) promote "${2:?pg-cluster.sh promote DIR}" ;;
down) down "${2:?pg-cluster.sh down DIR}" ;;
up) up "${2:?pg-cluster.sh up DIR}" ;;
bin) pg_bin ;;
*)
	echo "usage: pg-cluster.sh start|stop|promote|down|up DIR |" \
		"standby PRIMARY DIR" >&2
	exit 2
	;;
esac
