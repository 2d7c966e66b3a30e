#!/usr/bin/env bash
# Entry point of the Farout auth image (conf/docker/Dockerfile).
#
# Without arguments: runs `farout-admin migrate up` (retrying while the
# databases come up), starts the four FastCGI programs as the unprivileged
# user `farout`, then nginx, and watches them. SIGTERM or SIGINT stops nginx
# gracefully (QUIT) and then the programs (TERM: they finish the requests in
# flight) and exits 0 once they are gone. If any of them dies on its own the
# others are stopped too and the exit status is 1, so that the restart policy
# starts a whole container again rather than keeping half of one.
#
#   farout-entrypoint health     exit 0 when the service answers (HEALTHCHECK)
#   farout-entrypoint CMD ...    runs CMD instead, e.g. `farout-admin user list`
#
# Environment, besides the programs' own (.env.example):
#   FAROUT_WORKERS          workers per program, 1-256 (default 2)
#   FAROUT_LISTEN           unix (default): unix:/run/farout/NAME.sock, where the
#                           docker flavour of the nginx includes looks;
#                           tcp: 0.0.0.0:9001-9004 (login, me, oauth-callback,
#                           members), for an nginx in another container
#   FAROUT_NGINX            1 (default): run nginx here; 0: only the programs
#   FAROUT_HTTP_PORT        the port nginx listens on here, for `health` (default 80)
#   FAROUT_DB_WAIT_SECONDS  how long to wait for the databases to accept connections (default 60)
#
# PUBLIC_URL (default http://localhost:8080) is written into nginx's
# local/public_url.conf at every start: other host names are redirected to it.
# Without JWT_SECRET (or with .env.example's placeholder) a secret is generated
# once into /var/lib/farout/jwt_secret (the app-data volume) and kept.
set -euo pipefail

programs=(login me oauth-callback members)
declare -A tcp_port=([login]=9001 [me]=9002 [oauth-callback]=9003 [members]=9004)
bin_dir=/usr/local/lib/farout-auth/cgi-bin
sock_dir=/run/farout
nginx_cmd=(nginx -p /etc/farout -c /etc/farout/nginx.conf -e stderr)
# The programs and farout-admin need no privilege; only nginx's master does
# (port 80, switching its workers to their user).
drop=(setpriv --reuid=farout --regid=farout --init-groups --no-new-privs --)

log() { printf 'farout-entrypoint: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

listen_address() {
	case ${FAROUT_LISTEN:-unix} in
	unix) printf 'unix:%s/%s.sock\n' "$sock_dir" "$1" ;;
	tcp) printf '0.0.0.0:%s\n' "${tcp_port[$1]}" ;;
	*) die "FAROUT_LISTEN must be unix or tcp, not '${FAROUT_LISTEN}'" ;;
	esac
}

health() {
	local name status
	if [ "${FAROUT_NGINX:-1}" = 1 ]; then
		exec 3<>"/dev/tcp/127.0.0.1/${FAROUT_HTTP_PORT:-80}" || exit 1
		# Under PUBLIC_URL's host: any other is redirected.
		host=${PUBLIC_URL:-http://localhost:8080}
		host=${host#*://}
		host=${host%%/*}
		printf 'GET /api/health HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
		IFS= read -r -t 5 status <&3 || exit 1
		[[ $status == HTTP/1.?' 200 '* ]] || exit 1
		exit 0
	fi
	for name in "${programs[@]}"; do
		if [ "${FAROUT_LISTEN:-unix}" = tcp ]; then
			(exec 3<>"/dev/tcp/127.0.0.1/${tcp_port[$name]}") 2>/dev/null || exit 1
		else
			[ -S "$sock_dir/$name.sock" ] || exit 1
		fi
	done
	exit 0
}

if [ $# -gt 0 ]; then
	[ "$1" = health ] && health
	exec "$@"
fi

[ "$(id -u)" = 0 ] || die "must start as root: it runs the programs as farout and nginx's master as root"

workers=${FAROUT_WORKERS:-2}
if ! [[ $workers =~ ^[0-9]{1,3}$ ]] || ((10#$workers < 1 || 10#$workers > 256)); then
	die "FAROUT_WORKERS must be a whole number from 1 to 256, not '$workers'"
fi
workers=$((10#$workers))
wait_seconds=${FAROUT_DB_WAIT_SECONDS:-60}
[[ $wait_seconds =~ ^[0-9]{1,5}$ ]] || die "FAROUT_DB_WAIT_SECONDS must be a number of seconds, not '$wait_seconds'"
for name in "${programs[@]}"; do
	listen_address "$name" >/dev/null
done

# --- one address, one secret ------------------------------------------------------

export PUBLIC_URL=${PUBLIC_URL:-http://localhost:8080}
bash /etc/farout/conf/nginx/public-url.sh "$PUBLIC_URL" >/etc/farout/local/public_url.conf ||
	die "PUBLIC_URL must be http(s)://host[:port], the address browsers use"

if [ -z "${JWT_SECRET:-}" ] || [ "$JWT_SECRET" = change-me-to-a-random-string-of-at-least-32-bytes ]; then
	secret_file=/var/lib/farout/jwt_secret
	if [ ! -s "$secret_file" ]; then
		install -d -m 0700 "${secret_file%/*}"
		(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$secret_file.tmp")
		mv -f "$secret_file.tmp" "$secret_file"
		log "JWT_SECRET is not set: generated one in $secret_file (kept in the app-data volume)"
	fi
	JWT_SECRET=$(<"$secret_file")
	export JWT_SECRET
fi

stopping=0
trap 'stopping=1' TERM INT

# --- migrations ------------------------------------------------------------------

# The compose healthcheck already waits for PostgreSQL; retrying here also
# covers `docker run`, a database elsewhere and a restart of the db container.
# Only a failure to connect is retried: a bad setting or a failing migration
# will not mend itself, and its one line should end the container at once.
# (Should that wording ever change, every failure ends the container, and the
# restart policy does the retrying instead.) `migrate up` is idempotent, so
# running it again after a partial failure is safe.
deadline=$((SECONDS + 10#$wait_seconds))
while :; do
	if output=$(HOME=/nonexistent "${drop[@]}" farout-admin migrate up 2>&1); then
		[ -z "$output" ] || printf '%s\n' "$output" >&2
		break
	fi
	if [[ $output != *"cannot connect to the "* ]] || ((SECONDS >= deadline)); then
		printf '%s\n' "$output" >&2
		die "farout-admin migrate up failed"
	fi
	if [ "$stopping" = 1 ]; then
		log "stopped while waiting for the databases"
		exit 0
	fi
	log "waiting for the databases: ${output##*$'\n'}"
	sleep 2
done

# --- the programs and nginx ----------------------------------------------------------

# Only nginx and the programs run in this container, so the socket folder is
# open to every user in it: nginx's workers run as whatever user the nginx
# includes choose (nobody without a `user` line), and the programs make their
# sockets 0666.
install -d -o farout -g farout -m 0755 "$sock_dir"
# Left by the previous run of a restarted container; the socket wait below
# must only see the ones this run creates.
rm -f "$sock_dir"/*.sock

declare -A program_pid=()
nginx_pid=

for name in "${programs[@]}"; do
	HOME=/nonexistent "${drop[@]}" "$bin_dir/$name" \
		--listen "$(listen_address "$name")" --workers "$workers" &
	program_pid[$name]=$!
done

# Returns the name of a program (or nginx) that is no longer running.
first_dead() {
	local name
	for name in "${programs[@]}"; do
		if ! kill -0 "${program_pid[$name]}" 2>/dev/null; then
			printf '%s\n' "$name"
			return 0
		fi
	done
	if [ -n "$nginx_pid" ] && ! kill -0 "$nginx_pid" 2>/dev/null; then
		printf 'nginx\n'
		return 0
	fi
	return 1
}

# Waits up to $2 tenths of a second for pid $1 to end.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

stop_all() {
	local name pid
	# nginx first, so that it takes no new requests and drains the ones in
	# flight while the programs can still answer them.
	if [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null; then
		if ! wait_gone "$nginx_pid" 200; then
			log "nginx still draining after 20s; stopping it now"
			kill -TERM "$nginx_pid" 2>/dev/null || true
		fi
	fi
	for name in "${programs[@]}"; do
		kill -TERM "${program_pid[$name]}" 2>/dev/null || true
	done
	for pid in "${program_pid[@]}" $nginx_pid; do
		wait "$pid" 2>/dev/null || true
	done
}

status=0
# Give nginx a socket to talk to from its first request on.
if [ "${FAROUT_LISTEN:-unix}" = unix ]; then
	for ((i = 0; i < 100; i++)); do
		missing=0
		for name in "${programs[@]}"; do
			[ -S "$sock_dir/$name.sock" ] || missing=1
		done
		[ "$missing" = 0 ] && break
		first_dead >/dev/null && break
		[ "$stopping" = 1 ] && break
		sleep 0.1
	done
fi

if ! dead=$(first_dead) && [ "$stopping" = 0 ] && [ "${FAROUT_NGINX:-1}" = 1 ]; then
	"${nginx_cmd[@]}" -g 'daemon off;' &
	nginx_pid=$!
fi

log "running: ${programs[*]} with $workers workers each${nginx_pid:+, and nginx}"
while [ "$stopping" = 0 ]; do
	if dead=$(first_dead); then
		log "$dead exited on its own; stopping the rest"
		status=1
		break
	fi
	# A trapped signal interrupts `wait` at once, so stopping is not delayed by the poll.
	sleep 2 &
	wait $! 2>/dev/null || true
done

stop_all
log "stopped"
exit "$status"
