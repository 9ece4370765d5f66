#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the ledger tests
# (identity/ledger/sqlstore/postgres, identity/ledger/ledgertest). Nothing is installed or
# changed outside one temporary directory.
#
# Sourced (what .ci/run does; safe under set -euo pipefail):
#   source .ci/postgres.sh
#   pg_start            # starts the cluster, exports WEBCHATID_TEST_POSTGRES_DSN
#   trap pg_stop EXIT   # pg_stop stops it and removes its directory
#
# Run directly:
#   .ci/postgres.sh run go test -race ./identity/...   # start, run, stop; exits with the command's status
#   eval "$(.ci/postgres.sh start)"                     # prints export lines (DSN, WEBCHATID_PG_DIR, ..._BINDIR)
#   .ci/postgres.sh stop "$WEBCHATID_PG_DIR"
#
# PostgreSQL refuses to run as root, so as root the server runs as the user
# $WEBCHATID_PG_USER (default: postgres, which Debian's postgresql package
# creates; else nobody). The server binaries are found in $PG_BINDIR, else the
# newest /usr/lib/postgresql/<version>/bin, else $PATH. The cluster listens on
# 127.0.0.1 only, at a free port, with trust authentication: it is for tests.
# Database: webchatid_test (an ICU collation where PostgreSQL has one, so
# that it does not sort text in byte order), superuser postgres,
# sslmode=disable.

pg__log() { printf 'postgres.sh: %s\n' "$*" >&2; }

pg__bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		printf '%s\n' "$PG_BINDIR"
		return 0
	fi
	local d best=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1)" = "$d" ]; then
			best=$d
		fi
	done
	if [ -n "$best" ]; then
		printf '%s\n' "$best"
		return 0
	fi
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	pg__log "no PostgreSQL server binaries (initdb) found; install Debian's postgresql package or set PG_BINDIR"
	return 1
}

# pg__as USER CMD...: run CMD as USER (directly when USER is empty).
pg__as() {
	local user=$1
	shift
	if [ -z "$user" ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$user" -- "$@"
	else
		local q
		q=$(printf '%q ' "$@")
		su -s /bin/sh "$user" -c "$q"
	fi
}

# pg__port_free PORT: true when nothing listens on 127.0.0.1:PORT.
pg__port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg__psql BINDIR PORT ARGS...: psql as the superuser, quietly.
pg__psql() {
	local bindir=$1 port=$2
	shift 2
	"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@" >/dev/null
}

pg_start() {
	local bindir user="" dir port attempt
	bindir=$(pg__bindir) || return 1
	if [ "$(id -u)" -eq 0 ]; then
		user=${WEBCHATID_PG_USER:-}
		if [ -z "$user" ]; then
			if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
		fi
	fi
	dir=$(mktemp -d /tmp/webchatid-pg.XXXXXX) || return 1
	chmod 700 "$dir"
	if [ -n "$user" ]; then
		chown "$user" "$dir" || { rm -rf "$dir"; return 1; }
	fi
	if ! pg__as "$user" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		pg__log "initdb failed:"
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		return 1
	fi
	for attempt in 1 2 3 4 5 6 7 8; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		# A busy port must not survive the loop: it is someone else's server.
		if ! pg__port_free "$port"; then
			port=""
			continue
		fi
		if pg__as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null 2>&1; then
			break
		fi
		port=""
		# A port taken between the check and the start: try another.
		pg__as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	done
	if [ -z "${port:-}" ]; then
		pg__log "could not start the server; its log:"
		cat "$dir/server.log" >&2 2>/dev/null || true
		rm -rf "$dir"
		return 1
	fi
	# The test database sorts text by an ICU collation (PostgreSQL 15+), not
	# in byte order, so the tests prove that the store sorts by byte order
	# itself; where ICU is missing, by the cluster's C locale.
	if ! pg__psql "$bindir" "$port" -c "CREATE DATABASE webchatid_test TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'" 2>/dev/null &&
		! { pg__log "no ICU collation: the test database sorts in byte order"; pg__psql "$bindir" "$port" -c 'CREATE DATABASE webchatid_test'; }; then
		pg__log "CREATE DATABASE failed"
		pg__as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$dir"
		return 1
	fi
	WEBCHATID_PG_DIR=$dir
	WEBCHATID_PG_BINDIR=$bindir
	WEBCHATID_PG_RUNAS=$user
	WEBCHATID_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/webchatid_test?sslmode=disable"
	export WEBCHATID_PG_DIR WEBCHATID_PG_BINDIR WEBCHATID_PG_RUNAS WEBCHATID_TEST_POSTGRES_DSN
	pg__log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
}

# pg_stop [DIR]: stop the cluster started by pg_start (or the one in DIR) and
# remove its directory. Safe to call twice, and when nothing was started.
pg_stop() {
	local dir=${1:-${WEBCHATID_PG_DIR:-}}
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	local bindir=${WEBCHATID_PG_BINDIR:-} user
	[ -n "$bindir" ] || bindir=$(pg__bindir) || return 1
	user=$(stat -c %U "$dir")
	[ "$user" != "$(id -un)" ] || user=""
	if [ -f "$dir/data/postmaster.pid" ]; then
		pg__as "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -t 30 stop >/dev/null 2>&1 ||
			pg__as "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	if [ "${WEBCHATID_PG_DIR:-}" = "$dir" ]; then
		unset WEBCHATID_PG_DIR WEBCHATID_TEST_POSTGRES_DSN
	fi
	return 0
}

# Executed rather than sourced: a small command line.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	start)
		pg_start
		# WEBCHATID_PG_BINDIR too, so that stop uses the pg_ctl that started it.
		printf 'export WEBCHATID_TEST_POSTGRES_DSN=%q\nexport WEBCHATID_PG_DIR=%q\nexport WEBCHATID_PG_BINDIR=%q\n' \
			"$WEBCHATID_TEST_POSTGRES_DSN" "$WEBCHATID_PG_DIR" "$WEBCHATID_PG_BINDIR"
		;;
	stop)
		pg_stop "${2:-}"
		;;
	run)
		shift
		[ $# -gt 0 ] || { pg__log "usage: $0 run COMMAND [ARG...]"; exit 2; }
		pg_start
		trap pg_stop EXIT
		status=0
		"$@" || status=$?
		exit "$status"
		;;
	*)
		pg__log "usage: $0 start | stop [DIR] | run COMMAND [ARG...]   (or: source $0; pg_start; trap pg_stop EXIT)"
		exit 2
		;;
	esac
fi
