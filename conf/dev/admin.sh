#!/usr/bin/env bash
# `make admin ARGS="..."`: farout-admin against the private cluster of
# `make run` (var/pg), e.g.
#
#   make admin ARGS="user list"
#   make admin ARGS="members list"
#   echo 'A-long-new-passphrase-42' | make admin ARGS="user passwd admin"
#
# The cluster must be running (it is while `make run` is). Binaries come from
# $FAROUT_BIN_DIR (default: the repository) and the cluster from
# $FAROUT_VAR_DIR/pg (default var/pg), as for run.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
pg_dir=${FAROUT_VAR_DIR:-$repo/var}/pg
admin_bin=${FAROUT_BIN_DIR:-$repo}/db/farout-admin

[ -x "$admin_bin" ] || {
	echo "admin: missing $admin_bin (run make)" >&2
	exit 1
}
if ! "$repo/conf/dev/pg-cluster.sh" status "$pg_dir" >/dev/null 2>&1; then
	echo "admin: the development database in $pg_dir is not running; start \`make run\` first" >&2
	exit 1
fi
while IFS= read -r line; do
	if [[ $line =~ ^(DATABASE_URL|AUTH_DATABASE_URL)=\'?([^\']*)\'?$ ]]; then
		export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
	fi
done < <("$repo/conf/dev/pg-cluster.sh" env "$pg_dir")
exec "$admin_bin" "$@"
