#!/usr/bin/env bash
# A private PostgreSQL cluster in one folder, for `make run` (var/pg) and the
# test suite (a temporary folder). It listens only on a unix socket inside the
# folder, so several clusters can run side by side without touching the
# system's cluster or any TCP port.
#
#   pg-cluster.sh start DIR [PORT]   create if needed, start, ensure role and databases
#   pg-cluster.sh stop DIR           fast shutdown; fine if not running
#   pg-cluster.sh status DIR         exit 0 if running
#   pg-cluster.sh env DIR            DATABASE_URL / AUTH_DATABASE_URL, shell-sourceable
#
# PG_FAST=1 trades durability for speed (tests only). PG_BINDIR overrides where
# the server binaries are looked up.
set -euo pipefail

prog=${0##*/}
default_port=55432
app_role=farout
app_db=farout
auth_db=farout_auth
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
create_databases="$here/../../db/create-databases.sh"

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

usage() {
	echo "usage: $prog start DIR [PORT] | stop DIR | status DIR | env DIR" >&2
	exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL refuses to run as root, so as root the server side runs as the
# postgres user. From / so that an unreadable working directory (e.g. /root)
# does not produce warnings.
as_pg() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

find_bindir() {
	local version_file="$1/data/PG_VERSION" v newest
	if [ -n "${PG_BINDIR:-}" ]; then
		printf '%s\n' "$PG_BINDIR"
		return
	fi
	# An existing cluster must be run by the major version that created it.
	if [ -f "$version_file" ]; then
		v=$(<"$version_file")
		if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
			printf '%s\n' "/usr/lib/postgresql/$v/bin"
			return
		fi
	fi
	if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
		printf '%s\n' /usr/lib/postgresql/15/bin
		return
	fi
	newest=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/pg_ctl' 2>/dev/null |
		sort -V | tail -n 1)
	if [ -n "$newest" ]; then
		dirname "$newest"
		return
	fi
	die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (run conf/dev/setup-deps.sh, or set PG_BINDIR)"
}

read_port() {
	local port=$default_port
	if [ -f "$1/port" ]; then
		port=$(<"$1/port")
	fi
	printf '%s\n' "$port"
}

is_running() {
	[ -f "$1/data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" status -D "$1/data" >/dev/null 2>&1
}

# Finds the first directory on the way to $1 that the postgres user cannot
# search, so the error names the folder to fix rather than just failing.
check_reachable() {
	local target=$1 path='' part
	local -a parts
	runuser -u postgres -- test -x "$target" -a -w "$target" 2>/dev/null && return 0
	IFS=/ read -r -a parts <<<"${target#/}"
	for part in "${parts[@]}"; do
		path="$path/$part"
		if ! runuser -u postgres -- test -x "$path" 2>/dev/null; then
			die "the postgres user cannot reach $target: $path is not searchable by it (chmod o+x $path, or choose a folder under /tmp)"
		fi
	done
	die "the postgres user cannot write to $target"
}

# libpq takes the socket folder as a URI query value, where &, %, # and the
# like would change the meaning: percent-encode everything but the safe set.
uri_escape() {
	local s=$1 out='' c i
	local LC_ALL=C
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9/._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s\n' "$out"
}

# postgresql.conf quotes strings with '' for a literal quote.
conf_quote() {
	printf "'%s'" "${1//\'/\'\'}"
}

write_settings() {
	local dir=$1 port=$2 conf="$1/data/farout.conf"
	{
		echo "# Written by conf/dev/pg-cluster.sh at every start: edits here are lost."
		echo "listen_addresses = ''"
		echo "unix_socket_directories = $(conf_quote "$dir/sock")"
		echo "port = $port"
		if [ "${PG_FAST:-0}" = 1 ]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} >"$conf.tmp"
	mv -f "$conf.tmp" "$conf"
	if is_root; then
		chown postgres: "$conf"
	fi
	if ! grep -qx "include 'farout.conf'" "$dir/data/postgresql.conf"; then
		echo "include 'farout.conf'" >>"$dir/data/postgresql.conf"
	fi
}

init_cluster() {
	local dir=$1 locale=C
	# C.UTF-8 sorts bytewise like C but classifies non-ASCII text properly,
	# which lower()/ILIKE on display names rely on.
	if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
		locale=C.UTF-8
	fi
	as_pg "$bindir/initdb" -D "$dir/data" --auth=trust -U postgres \
		--encoding=UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 ||
		{
			tail -n 20 "$dir/initdb.log" >&2
			die "initdb failed (full log: $dir/initdb.log)"
		}
}

ensure_role_and_databases() {
	local dir=$1 port=$2
	PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres \
		"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -v role="$app_role" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
	PGHOST="$dir/sock" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres \
		FAROUT_DB_USER="$app_role" FAROUT_DB_NAME="$app_db" FAROUT_AUTH_DB_NAME="$auth_db" \
		PATH="$bindir:$PATH" bash "$create_databases"
}

cmd_start() {
	local dir=$1 port=${2:-} sock running_port
	[ -f "$create_databases" ] || die "missing $create_databases"
	dir=$(realpath -m -- "$dir")
	bindir=$(find_bindir "$dir")

	if [ -z "$port" ]; then
		port=$(read_port "$dir")
	fi
	if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		die "invalid port: $port"
	fi
	sock="$dir/sock/.s.PGSQL.$port"
	# sun_path holds 107 bytes plus the terminating NUL.
	[ "${#sock}" -le 107 ] || die "socket path too long for a unix socket (${#sock} > 107 bytes): $sock"
	mkdir -p -- "$dir"

	if is_root; then
		id -u postgres >/dev/null 2>&1 || die "no postgres user (install the postgresql package)"
		if [ ! -f "$dir/data/PG_VERSION" ]; then
			chown postgres: "$dir"
		fi
		check_reachable "$dir"
	fi

	# Two starts of one folder at once (parallel test runs) must not both
	# initdb. Every command below closes fd 9 so that the server it starts does
	# not inherit the lock and hold it forever.
	exec 9>>"$dir/lock"
	flock 9

	if is_running "$dir"; then
		running_port=$(read_port "$dir")
		[ "$running_port" = "$port" ] ||
			die "already running on port $running_port (stop it first to change the port)"
		ensure_role_and_databases "$dir" "$port" 9>&-
		return 0
	fi

	if [ ! -f "$dir/data/PG_VERSION" ]; then
		init_cluster "$dir" 9>&-
	fi
	as_pg mkdir -p "$dir/sock"
	write_settings "$dir" "$port"
	printf '%s\n' "$port" >"$dir/port"

	if ! as_pg "$bindir/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
		>/dev/null 9>&-; then
		tail -n 20 "$dir/postgres.log" >&2 2>/dev/null || true
		die "the server did not start (log: $dir/postgres.log)"
	fi
	ensure_role_and_databases "$dir" "$port" 9>&-
}

cmd_stop() {
	local dir
	dir=$(realpath -m -- "$1")
	[ -f "$dir/data/PG_VERSION" ] || return 0
	bindir=$(find_bindir "$dir")
	is_running "$dir" || return 0
	as_pg "$bindir/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null
}

cmd_status() {
	local dir
	dir=$(realpath -m -- "$1")
	if [ -f "$dir/data/PG_VERSION" ]; then
		bindir=$(find_bindir "$dir")
		if is_running "$dir"; then
			echo "running: socket $dir/sock, port $(read_port "$dir")"
			return 0
		fi
	fi
	echo "not running: $dir"
	return 1
}

cmd_env() {
	local dir port host
	dir=$(realpath -m -- "$1")
	port=$(read_port "$dir")
	host=$(uri_escape "$dir/sock")
	printf "DATABASE_URL='postgresql:///%s?host=%s&port=%s&user=%s'\n" "$app_db" "$host" "$port" "$app_role"
	printf "AUTH_DATABASE_URL='postgresql:///%s?host=%s&port=%s&user=%s'\n" "$auth_db" "$host" "$port" "$app_role"
}

bindir=
[ $# -ge 2 ] || usage
case $1 in
start)
	[ $# -le 3 ] || usage
	cmd_start "$2" "${3:-}"
	;;
stop)
	[ $# -eq 2 ] || usage
	cmd_stop "$2"
	;;
status)
	[ $# -eq 2 ] || usage
	cmd_status "$2"
	;;
env)
	[ $# -eq 2 ] || usage
	cmd_env "$2"
	;;
*) usage ;;
esac
