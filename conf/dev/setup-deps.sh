#!/usr/bin/env bash
# Makes sure the Debian packages that building, running and testing Farout auth
# need are installed. Silent when they all are. As root it installs what is
# missing; otherwise (or with FAROUT_NO_INSTALL=1) it prints the one command
# that would, and fails, so that `make` stops before a confusing compiler error.
set -euo pipefail

packages=(
	build-essential pkg-config
	libfcgi-dev libpq-dev libcjson-dev libssl-dev libcurl4-openssl-dev libcrypt-dev
	libcmocka-dev libzxcvbn-dev liboath-dev
	postgresql postgresql-contrib nginx pgbouncer fcgiwrap spawn-fcgi systemd
	python3 python3-pytest python3-requests python3-jwt python3-bcrypt python3-psycopg2
	python3-jsonschema python3-selenium python3-cryptography chromium chromium-driver
	clang libclang-rt-14-dev
	wrk curl ca-certificates procps util-linux iproute2
)
# `--peer`: also the FastAPI peer's packages (make bench PEER=1, see its README).
if [ "${1:-}" = --peer ]; then
	packages+=(python3-fastapi python3-uvicorn python3-asyncpg python3-jwt python3-bcrypt
		python3-httpx python3-multipart python3-uvloop python3-httptools)
fi

missing_packages() {
	local p status
	for p in "${packages[@]}"; do
		# "install ok installed" is the only state in which the files are all
		# there; half-configured or removed-but-config-kept packages count as missing.
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		if [ "$status" != "install ok installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

mapfile -t missing < <(missing_packages)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || [ "${FAROUT_NO_INSTALL:-0}" = 1 ]; then
	echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run (a parallel make, unattended upgrades) instead of
# failing at once on its lock.
apt_opts=(-o DPkg::Lock::Timeout=600)
echo "setup-deps: installing ${missing[*]}" >&2
apt-get "${apt_opts[@]}" update -qq
# Debian's postgresql package tries to start a system cluster on 5432; where
# services cannot start (containers, policy-rc.d) its postinst may complain.
# We never use that cluster, so what decides success is whether the packages
# ended up installed, checked below, not apt-get's exit status alone.
apt_status=0
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >&2 || apt_status=$?

mapfile -t still_missing < <(missing_packages)
if [ "${#still_missing[@]}" -ne 0 ]; then
	echo "setup-deps: apt-get install failed (status $apt_status); still missing: ${still_missing[*]}" >&2
	exit 1
fi
