#!/usr/bin/env bash
# Builds a self-contained nginx folder for development and tests:
#
#   mklocal.sh OUTDIR PORT SOCKDIR WWWROOT [PUBLIC_URL]
#
#   OUTDIR/nginx.conf -> the repository's nginx.conf
#   OUTDIR/conf       -> the repository's conf/ (shared includes)
#   OUTDIR/local/     main.conf, http.conf, server.conf, public_url.conf for this folder
#
# nginx resolves relative includes against the folder of the -c file without
# resolving symlinks, so the one nginx.conf finds this folder's local/ files:
#
#   nginx -p OUTDIR -c OUTDIR/nginx.conf -e OUTDIR/error.log [-g 'daemon off;']
#   nginx -p OUTDIR -c OUTDIR/nginx.conf -e OUTDIR/error.log -s quit
#
# nginx listens on 127.0.0.1:PORT, reaches the programs at
# SOCKDIR/{login,me,oauth-callback,members}.sock and serves WWWROOT. Requests
# for another host name than PUBLIC_URL's (default http://127.0.0.1:PORT) are
# redirected to PUBLIC_URL (public-url.sh).
#
# SOCKDIR may be a colon-separated list (DIR1:DIR2): one `server` per folder
# in each upstream, as for several hosts running the programs.
# FAROUT_CGI_BIN=DIR: the fcgiwrap flavour instead (conf/nginx/fcgiwrap/):
# every upstream is fcgiwrap at SOCKDIR/fcgiwrap.sock, which runs the
# programs in DIR as CGI.
set -euo pipefail

prog=${0##*/}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

[ $# -eq 4 ] || [ $# -eq 5 ] || {
	echo "usage: $prog OUTDIR PORT SOCKDIR WWWROOT [PUBLIC_URL]" >&2
	exit 2
}

port=$2
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	die "invalid port: $port"
fi

# The paths are written into nginx's configuration, where quotes, `$`, `;`,
# braces and backslashes would change the meaning; refuse them rather than
# escape them.
checked_path() {
	local p
	p=$(realpath -m -- "$1")
	case $p in
	*[\"\'\$\;\{\}\\]* | *[[:cntrl:]]*) die "unsupported character in path: $p" ;;
	esac
	printf '%s\n' "$p"
}

outdir=$(checked_path "$1")
sockdirs=()
IFS=: read -r -a dirs <<<"$3"
for d in "${dirs[@]}"; do
	sockdirs+=("$(checked_path "$d")")
done
[ "${#sockdirs[@]}" -ge 1 ] || die "no socket folder given"
wwwroot=$(checked_path "$4")
cgibin=
if [ -n "${FAROUT_CGI_BIN:-}" ]; then
	cgibin=$(checked_path "$FAROUT_CGI_BIN")
fi

public_url=${5:-http://127.0.0.1:$port}

mkdir -p -- "$outdir/local" "$outdir/tmp"
"$repo/conf/nginx/public-url.sh" "$public_url" >"$outdir/local/public_url.conf.tmp" ||
	die "bad PUBLIC_URL: $public_url"
mv -f -- "$outdir/local/public_url.conf.tmp" "$outdir/local/public_url.conf"
ln -sfn -- "$repo/nginx.conf" "$outdir/nginx.conf"
ln -sfn -- "$repo/conf" "$outdir/conf"

{
	echo "# Written by conf/nginx/mklocal.sh; rewritten at every run."
	echo "pid \"$outdir/nginx.pid\";"
	echo "error_log \"$outdir/error.log\" warn;"
	if [ "$(id -u)" -eq 0 ]; then
		# Development and tests only: the programs' sockets live in folders
		# that root created (temporary folders are mode 700), which nginx's
		# default worker user could not reach. Deployments run workers as an
		# unprivileged user that owns or shares the socket folder.
		echo "user root;"
	fi
} >"$outdir/local/main.conf"

{
	echo "# Written by conf/nginx/mklocal.sh; rewritten at every run."
	# Buffered: one write per 64 KB or second instead of one per request.
	echo "access_log \"$outdir/access.log\" farout buffer=64k flush=1s;"
	for t in client_body fastcgi proxy scgi uwsgi; do
		echo "${t}_temp_path \"$outdir/tmp/$t\";"
	done
	# Upstream name and program name differ only for oauth-callback.
	for pair in login:login me:me oauth:oauth-callback members:members; do
		echo "upstream farout_${pair%%:*} {"
		# With several hosts a server that refused a connection is tried
		# again at the next request (max_fails=0), not skipped for 10 s: a
		# restarted program is back at once, and the tests switch hosts.
		opts=
		[ "${#sockdirs[@]}" -eq 1 ] || opts=" max_fails=0"
		for d in "${sockdirs[@]}"; do
			if [ -n "$cgibin" ]; then
				echo "    server \"unix:$d/fcgiwrap.sock\"$opts;"
			else
				echo "    server \"unix:$d/${pair#*:}.sock\"$opts;"
			fi
		done
		echo "}"
	done
	if [ -n "$cgibin" ]; then
		# As conf/nginx/fcgiwrap/http.conf, with this folder's programs.
		sed -n -e "s|/usr/local/lib/farout-auth/cgi-bin/|$cgibin/|" \
			-e '/^map /,/^}/p' "$repo/conf/nginx/fcgiwrap/http.conf"
	else
		echo "# FastCGI programs: no CGI script to name (see fastcgi_params.conf)."
		echo "map \$document_uri \$farout_script_filename { default \"\"; }"
	fi
} >"$outdir/local/http.conf"

{
	echo "# Written by conf/nginx/mklocal.sh; rewritten at every run."
	# One listening socket per nginx worker (see nginx.conf: worker_processes).
	echo "listen 127.0.0.1:$port reuseport;"
	# PUBLIC_URL's host (the map's one entry): also what $host is for a
	# request without a Host header.
	echo "server_name $(sed -n 's/^    "\(.*\)" "";$/\1/p' "$outdir/local/public_url.conf");"
	echo "root \"$wwwroot\";"
} >"$outdir/local/server.conf"
