#!/usr/bin/env bash
# `make run`: the whole service on this machine, in the foreground.
#
# Reads .env (variables already in the environment win), starts a private
# PostgreSQL under var/pg unless DATABASE_URL and AUTH_DATABASE_URL are both
# given in the environment (the URLs in .env are docker-compose's, whose host
# `db` exists only there), migrates, starts the four programs on unix sockets
# in var/run and nginx on 127.0.0.1 at PUBLIC_URL's port (PUBLIC_URL defaults
# to http://localhost:${FAROUT_PORT:-8080}, as in .env.example). Without
# DISCORD_CLIENT_ID (and unless FAROUT_FAKE_DISCORD=0) a fake Discord stands
# in, for development only. Ctrl-C or SIGTERM stops everything it started; so
# does any program that dies.
#
# Binaries: $FAROUT_BIN_DIR/cgi-bin/NAME and $FAROUT_BIN_DIR/db/farout-admin
# (default: the repository).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo"

programs=(login me oauth-callback members)
# Workers per program unless FAROUT_WORKERS sets one number for all (tests/bench/bench.py reads
# this line too). Chosen with make bench on 2 cores (README "Performance"): me answers
# verify and me fastest with 2 (3 and 4 add processes that compete with nginx and
# PostgreSQL for the cores, and widen the tails); members, whose queries are heavier,
# gains up to 4; login is bcrypt, CPU-bound: one per core; oauth-callback waits on Discord.
default_workers="login=2 me=2 oauth-callback=4 members=4"
# Each worker stays on one CPU, round robin (README "Performance": verify and me about 15%
# faster on 2 cores, tighter tails); FAROUT_PIN_WORKERS=0 lets them move. bench.py reads it too.
pin_workers=${FAROUT_PIN_WORKERS:-1}
# FAROUT_VAR_DIR: another folder for the cluster, sockets and logs (the tests use one).
var=${FAROUT_VAR_DIR:-$repo/var}
run_dir=$var/run
log_dir=$var/log
nginx_dir=$var/nginx
pg_dir=$var/pg

say() { printf 'run: %s\n' "$*"; }
workers_of() {
	local pair
	if [ -n "${FAROUT_WORKERS:-}" ]; then
		printf '%s\n' "$FAROUT_WORKERS"
		return
	fi
	for pair in $default_workers; do
		[ "${pair%%=*}" = "$1" ] && printf '%s\n' "${pair#*=}" && return
	done
	echo 2
}
die() {
	printf 'run: %s\n' "$*" >&2
	exit 1
}

# --- .env --------------------------------------------------------------------

# Parsed, not sourced: a value is taken literally (one pair of surrounding
# quotes removed), nothing in the file runs, and the environment wins.
load_env_file() {
	local line key val n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%$'\r'}
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		if ! [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=(.*)$ ]]; then
			say "warning: $1:$n is not NAME=value; ignored"
			continue
		fi
		key=${BASH_REMATCH[2]}
		val=${BASH_REMATCH[3]}
		case $key in
		DATABASE_URL | AUTH_DATABASE_URL)
			# docker-compose's databases; make run has its own.
			continue
			;;
		esac
		val=${val#"${val%%[![:space:]]*}"}
		val=${val%"${val##*[![:space:]]}"}
		if [[ $val =~ ^\"(.*)\"$ || $val =~ ^\'(.*)\'$ ]]; then
			val=${BASH_REMATCH[1]}
		fi
		# An empty value in .env means "not set", as in .env.example.
		if [ -z "${!key+set}" ] && [ -n "$val" ]; then
			export "$key=$val"
		fi
	done <"$1"
}

# FAROUT_ENV_FILE: another file than .env (the tests use one).
env_file=${FAROUT_ENV_FILE:-.env}
if [ -f "$env_file" ]; then
	load_env_file "$env_file"
	say "read $env_file (the environment wins over it)"
fi

bin_dir=$(cd "${FAROUT_BIN_DIR:-$repo}" && pwd -P) || die "FAROUT_BIN_DIR: no such folder"

# One address: nginx listens on PUBLIC_URL's port and sends any other host
# name there, so the cookie, the CSRF check and the Discord redirect agree.
export PUBLIC_URL=${PUBLIC_URL:-http://localhost:${FAROUT_PORT:-8080}}
public_url=${PUBLIC_URL%/}
if [[ $public_url =~ ^https:// ]]; then
	die "PUBLIC_URL is $public_url, but make run serves plain http on this machine: use http://localhost:PORT"
fi
[[ $public_url =~ ^http://([^/:]+|\[[^]]+\])(:([0-9]+))?$ ]] ||
	die "PUBLIC_URL must be http://host[:port], not $PUBLIC_URL"
public_host=${BASH_REMATCH[1]}
port=${BASH_REMATCH[3]:-80}
admin_bin=$bin_dir/db/farout-admin
for name in "${programs[@]}"; do
	[ -x "$bin_dir/cgi-bin/$name" ] || die "missing $bin_dir/cgi-bin/$name (run make)"
done
[ -x "$admin_bin" ] || die "missing $admin_bin (run make)"

# --- what runs, and how it stops ----------------------------------------------

declare -A program_pid=()
nginx_pid=
fake_pid=
cluster_used=0

# Waits up to $2 tenths of a second for pid $1 to end.
wait_gone() {
	local pid=$1 tenths=$2
	while [ "$tenths" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		tenths=$((tenths - 1))
	done
	! kill -0 "$pid" 2>/dev/null
}

# Each child runs in its own session (setsid), so a terminal's Ctrl-C reaches
# only this script, which then stops them in order; killing the session's
# process group catches workers a program might leave behind.
stop_child() {
	local pid=$1 what=$2
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 100; then
		say "$what did not stop within 10 s; killing it"
	fi
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

nginx_cmd() {
	nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" "$@"
}

cleanup() {
	local status=$? name
	trap '' INT TERM HUP
	trap - EXIT
	say "stopping…"
	if [ -n "$nginx_pid" ]; then
		# quit lets nginx finish the requests it is serving.
		nginx_cmd -s quit 2>/dev/null || kill -QUIT "$nginx_pid" 2>/dev/null || true
		wait_gone "$nginx_pid" 100 || true
		stop_child "$nginx_pid" nginx
	fi
	for name in "${!program_pid[@]}"; do
		kill -TERM "${program_pid[$name]}" 2>/dev/null || true
	done
	for name in "${!program_pid[@]}"; do
		stop_child "${program_pid[$name]}" "$name"
		rm -f -- "$run_dir/$name.sock"
	done
	[ -z "$fake_pid" ] || stop_child "$fake_pid" "the fake Discord"
	if [ "$cluster_used" = 1 ]; then
		conf/dev/pg-cluster.sh stop "$pg_dir" || say "could not stop PostgreSQL in $pg_dir"
	fi
	say "stopped"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

mkdir -p "$run_dir" "$log_dir"
# Whoever reaches a FastCGI socket can say any REMOTE_ADDR: the folder is ours
# alone and the sockets 0660 (below), as /run/farout is under systemd.
chmod 700 "$run_dir"

# --- PostgreSQL ------------------------------------------------------------------

if [ -n "${DATABASE_URL:-}" ] && [ -n "${AUTH_DATABASE_URL:-}" ]; then
	say "using DATABASE_URL and AUTH_DATABASE_URL from the environment"
else
	if [ -n "${DATABASE_URL:-}${AUTH_DATABASE_URL:-}" ]; then
		say "only one of DATABASE_URL / AUTH_DATABASE_URL is set: using the private cluster for both"
	fi
	say "starting the private PostgreSQL cluster in var/pg (log: var/pg/postgres.log)"
	cluster_used=1
	conf/dev/pg-cluster.sh start "$pg_dir"
	while IFS= read -r line; do
		if [[ $line =~ ^(DATABASE_URL|AUTH_DATABASE_URL)=\'?([^\']*)\'?$ ]]; then
			export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
		fi
	done < <(conf/dev/pg-cluster.sh env "$pg_dir")
	if [ -z "${DATABASE_URL:-}" ] || [ -z "${AUTH_DATABASE_URL:-}" ]; then
		die "pg-cluster.sh env gave no DATABASE_URL / AUTH_DATABASE_URL"
	fi
fi

# --- secrets and URLs --------------------------------------------------------------

# .env.example's placeholder, which the programs refuse, counts as unset here.
if [ "${JWT_SECRET:-}" = change-me-to-a-random-string-of-at-least-32-bytes ]; then
	unset JWT_SECRET
fi
if [ -z "${JWT_SECRET:-}" ]; then
	if [ ! -s "$var/jwt_secret" ]; then
		(umask 077 && openssl rand -base64 48 | tr -d '\n' >"$var/jwt_secret.tmp")
		mv -f "$var/jwt_secret.tmp" "$var/jwt_secret"
		say "generated a JWT secret in $var/jwt_secret (kept for the next runs)"
	fi
	chmod 600 "$var/jwt_secret"
	JWT_SECRET=$(<"$var/jwt_secret")
	export JWT_SECRET
fi

# Two-factor sign-in needs TOTP_KEY; one is generated once, like the JWT secret.
if [ -z "${TOTP_KEY:-}" ]; then
	if [ ! -s "$var/totp_key" ]; then
		(umask 077 && openssl rand -base64 32 | tr -d '\n' >"$var/totp_key.tmp")
		mv -f "$var/totp_key.tmp" "$var/totp_key"
		say "generated a TOTP key in $var/totp_key (kept for the next runs)"
	fi
	chmod 600 "$var/totp_key"
	TOTP_KEY=$(<"$var/totp_key")
	export TOTP_KEY
fi

# --- schema ----------------------------------------------------------------------

say "migrating (farout-admin migrate up)"
"$admin_bin" migrate up

# --- fake Discord (development aid) -------------------------------------------------

if [ -z "${DISCORD_CLIENT_ID:-}" ] && [ "${FAROUT_FAKE_DISCORD:-1}" != 0 ]; then
	# A made-up application id: the programs accept only numeric (snowflake) ids.
	export DISCORD_CLIENT_ID=1100000000000000001
	DISCORD_CLIENT_SECRET=fake-secret-$(openssl rand -hex 16)
	export DISCORD_CLIENT_SECRET
	export DISCORD_REDIRECT_URI=$public_url/api/auth/discord/callback
	port_file=$var/fake_discord.out
	rm -f -- "$port_file"
	# The secret reaches it through the environment, not the command line.
	# With DISCORD_GUILD_ID set, its made-up user is a member of that server (no roles).
	setsid /usr/bin/python3 tests/fake_discord.py --port 0 \
		--client-id "$DISCORD_CLIENT_ID" --redirect-uri "$DISCORD_REDIRECT_URI" \
		${DISCORD_GUILD_ID:+--guild-member "$DISCORD_GUILD_ID"} \
		>"$port_file" 2>>"$log_dir/fake_discord.log" </dev/null &
	fake_pid=$!
	# Its first stdout line is "LISTENING <port>".
	fake_port=
	for _ in $(seq 100); do
		if [[ $(head -n 1 "$port_file") =~ ^LISTENING\ ([0-9]+)$ ]]; then
			fake_port=${BASH_REMATCH[1]}
			break
		fi
		kill -0 "$fake_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$fake_port" ] || die "the fake Discord did not start (log: var/log/fake_discord.log)"
	export DISCORD_API_BASE=http://127.0.0.1:$fake_port/api
	export DISCORD_AUTHORIZE_URL=http://127.0.0.1:$fake_port/oauth2/authorize
	cat <<EOF

  DEVELOPMENT AID: DISCORD_CLIENT_ID is not set, so a FAKE Discord runs on
  127.0.0.1:$fake_port (tests/fake_discord.py). "Sign in with Discord" logs
  in a made-up user without asking. Set DISCORD_CLIENT_ID/SECRET/REDIRECT_URI
  for the real one, or FAROUT_FAKE_DISCORD=0 to run without any.

EOF
fi

# --- the four programs ----------------------------------------------------------------

for name in "${programs[@]}"; do
	sock=$run_dir/$name.sock
	rm -f -- "$sock"
	# Logs grow across runs; a marker shows where this one starts.
	printf -- '--- %s: started by conf/dev/run.sh\n' "$(date -u +%FT%TZ)" >>"$log_dir/$name.log"
	pin_flag=()
	[ "$pin_workers" = 1 ] && pin_flag=(--pin-workers)
	setsid "$bin_dir/cgi-bin/$name" --listen "unix:$sock" --workers "$(workers_of "$name")" \
		"${pin_flag[@]}" </dev/null >>"$log_dir/$name.log" 2>&1 &
	program_pid[$name]=$!
done

for name in "${programs[@]}"; do
	sock=$run_dir/$name.sock
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		kill -0 "${program_pid[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "${program_pid[$name]}" 2>/dev/null || [ ! -S "$sock" ]; then
		printf 'run: %s did not start; the end of var/log/%s.log:\n' "$name" "$name" >&2
		tail -n 5 "$log_dir/$name.log" | sed 's/^/  /' >&2
		exit 1
	fi
	# The programs make their sockets 0666 (for set-ups where only the folder guards
	# them) just after creating them: wait for that, then narrow it.
	for _ in $(seq 50); do
		[ "$(stat -c %a "$sock")" = 666 ] && break
		sleep 0.1
	done
	chmod 660 "$sock"
done

# --- nginx --------------------------------------------------------------------------

conf/nginx/mklocal.sh "$nginx_dir" "$port" "$run_dir" "$repo/www" "$public_url"
nginx_cmd -t -q || die "nginx rejected its configuration (var/nginx/error.log)"
setsid nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$nginx_dir/error.log" \
	-g 'daemon off;' </dev/null >>"$log_dir/nginx.log" 2>&1 &
nginx_pid=$!

# Asked of nginx on 127.0.0.1 under PUBLIC_URL's host name (which may not resolve here).
health=$public_url/api/health
health_check() {
	curl -fsS -o /dev/null --max-time 2 -H "Host: $public_host:$port" "http://127.0.0.1:$port/api/health"
}
for _ in $(seq 100); do
	health_check 2>/dev/null && break
	kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start (var/nginx/error.log)"
	sleep 0.1
done
health_check || say "warning: $health does not answer 200 yet (see the logs)"

cat <<EOF

  Farout auth is running: $public_url/
  Health:      $health
  Operators:   make admin ARGS="user list"   (farout-admin on this cluster)
  Admin login: admin / Admin123!  (you must change it at the first login)
  Logs:        var/log/{$(
	IFS=,
	echo "${programs[*]}"
)}.log, var/nginx/{access,error}.log
  Stop:        Ctrl-C

EOF

# --- until a signal or a death ---------------------------------------------------------

# A child that died stays in the lists: cleanup still kills what is left of
# its process group (workers, nginx's worker processes).

while :; do
	wait -n "${program_pid[@]}" "$nginx_pid" ${fake_pid:+"$fake_pid"} || true
	for name in "${!program_pid[@]}"; do
		if ! kill -0 "${program_pid[$name]}" 2>/dev/null; then
			die "$name stopped unexpectedly (var/log/$name.log); stopping everything"
		fi
	done
	if ! kill -0 "$nginx_pid" 2>/dev/null; then
		die "nginx stopped unexpectedly (var/nginx/error.log); stopping everything"
	fi
	if [ -n "$fake_pid" ] && ! kill -0 "$fake_pid" 2>/dev/null; then
		die "the fake Discord stopped unexpectedly (var/log/fake_discord.log); stopping everything"
	fi
done
