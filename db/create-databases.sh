#!/usr/bin/env bash
# Creates the two Farout databases, `farout` (members) and `farout_auth`
# (users, sessions, login counters), and lets the application role own and
# build tables in both. Idempotent.
#
# Runs as-is in /docker-entrypoint-initdb.d of the official postgres image
# (POSTGRES_USER is the superuser there and POSTGRES_DB already exists), and
# from conf/dev/pg-cluster.sh. It connects with the standard PG* variables or
# psql's defaults, as a superuser.
#
# On a host of your own, create the application role first, then run it:
#   sudo -u postgres createuser --pwprompt farout
#   sudo -u postgres bash db/create-databases.sh
#
#   FAROUT_DB_USER       application role (default: $POSTGRES_USER, else farout); must exist
#   FAROUT_DB_NAME       app database (default: farout)
#   FAROUT_AUTH_DB_NAME  auth database (default: farout_auth)

# The image's entrypoint sources, rather than runs, a script that lost its
# executable bit; run in a child shell then, so that our shell options and exit
# status do not leak into the entrypoint.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
	bash "${BASH_SOURCE[0]}"
	return
fi

set -euo pipefail

app_role=${FAROUT_DB_USER:-${POSTGRES_USER:-farout}}
app_db=${FAROUT_DB_NAME:-farout}
auth_db=${FAROUT_AUTH_DB_NAME:-farout_auth}

# Inside the image PGUSER/PGDATABASE are unset and psql's defaults (the OS user
# `postgres`) may not name a role that exists, so use the image's own names.
psql_args=(-X -q -v ON_ERROR_STOP=1)
if [ -z "${PGUSER:-}" ] && [ -n "${POSTGRES_USER:-}" ]; then
	psql_args+=(--username "$POSTGRES_USER")
fi
if [ -z "${PGDATABASE:-}" ] && [ -n "${POSTGRES_DB:-}" ]; then
	psql_args+=(--dbname "$POSTGRES_DB")
fi

# The role is not created here: it needs a password (or another way in) that
# only the operator can choose. Say so, with the command, rather than fail on
# CREATE DATABASE … OWNER.
role_exists=$(psql "${psql_args[@]}" -At -v role="$app_role" 2>&1 <<'SQL'
SELECT 1 FROM pg_roles WHERE rolname = :'role'
SQL
) || {
	printf 'create-databases.sh: cannot query the server as a superuser: %s\n' "$role_exists" >&2
	exit 1
}
if [ "$role_exists" != 1 ]; then
	printf 'create-databases.sh: the role "%s" does not exist; create it first, e.g.\n' "$app_role" >&2
	printf '  sudo -u postgres createuser --pwprompt %s\n' "$app_role" >&2
	exit 1
fi

psql "${psql_args[@]}" -v role="$app_role" -v app_db="$app_db" -v auth_db="$auth_db" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', d, :'role')
  FROM unnest(ARRAY[:'app_db', :'auth_db']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec

SELECT format('GRANT ALL PRIVILEGES ON DATABASE %I TO %I', d, :'role')
  FROM unnest(ARRAY[:'app_db', :'auth_db']) AS d \gexec

-- PostgreSQL 15 no longer lets every role create in public. The owner of a
-- database created above may already, but a database that existed before
-- (POSTGRES_DB in the image) may be owned by someone else.
\connect :"app_db"
SELECT format('GRANT ALL ON SCHEMA public TO %I', :'role') \gexec
\connect :"auth_db"
SELECT format('GRANT ALL ON SCHEMA public TO %I', :'role') \gexec
SQL
