#!/usr/bin/env bash
# Prints local/public_url.conf for nginx.conf from PUBLIC_URL:
#
#   public-url.sh PUBLIC_URL > CONFDIR/local/public_url.conf
#
# The site has one address. nginx.conf answers a request whose Host is not
# PUBLIC_URL's host with a 301 to the same path on PUBLIC_URL (GET, HEAD) or a
# 400 naming PUBLIC_URL (other methods), so that the session cookie, the CSRF
# origin check and the Discord redirect always agree. The port is not compared:
# a published or forwarded port may legitimately differ from nginx's.
#
# Used by mklocal.sh (make run, the tests), conf/docker/entrypoint.sh and
# conf/nginx/systemd/farout-nginx.service.
set -euo pipefail

prog=${0##*/}
[ $# -eq 1 ] || {
	echo "usage: $prog PUBLIC_URL" >&2
	exit 2
}

url=${1%/}
# What lib/config.c accepts, narrowed to what can be written into nginx's
# configuration without quoting: scheme://host[:port], a DNS name, IPv4 or
# bracketed IPv6 host.
if ! [[ $url =~ ^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?$ ]]; then
	printf '%s: PUBLIC_URL must be http(s)://host[:port] with no path, not %q\n' "$prog" "$1" >&2
	exit 1
fi
host=${BASH_REMATCH[2],,}
url="${BASH_REMATCH[1]}://$host${BASH_REMATCH[3]}"

cat <<CONF
# Written by conf/nginx/public-url.sh from PUBLIC_URL=$url; rewritten at every start.
# Empty for PUBLIC_URL's host; PUBLIC_URL for any other (nginx.conf redirects there).
map \$host \$farout_redirect_to {
    default "$url";
    "$host" "";
}
CONF
