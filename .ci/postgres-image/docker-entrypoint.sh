#!/bin/sh
# Entrypoint of the locally built PostgreSQL image, compatible with the official image's
# environment: POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
# POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default: the user), PGDATA.
set -eu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
PGDATA=${PGDATA:-/var/lib/postgresql/data}
AUTH=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
export PGDATA

if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
[ "$#" -gt 0 ] && shift

if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$AUTH" != trust ]; then
  echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
  exit 1
fi

mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

as_postgres() { su postgres -s /bin/sh -c "$1"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "${POSTGRES_PASSWORD:-}" > /tmp/pwfile
  chown postgres /tmp/pwfile
  as_postgres "'$PGBIN/initdb' -D '$PGDATA' -U '$POSTGRES_USER' --pwfile=/tmp/pwfile --auth-local=trust --auth-host='$AUTH' -E UTF8 --locale=C.UTF-8 --no-instructions"
  rm -f /tmp/pwfile
  echo "host all all all $AUTH" >> "$PGDATA/pg_hba.conf"
  # a temporary server on the Unix socket only, to create the database
  as_postgres "'$PGBIN/pg_ctl' -D '$PGDATA' -o \"-c listen_addresses=''\" -w start"
  if [ "$POSTGRES_DB" != postgres ]; then
    as_postgres "'$PGBIN/psql' -v ON_ERROR_STOP=1 -U '$POSTGRES_USER' -d postgres -c 'CREATE DATABASE \"$POSTGRES_DB\"'"
  fi
  as_postgres "'$PGBIN/pg_ctl' -D '$PGDATA' -m fast -w stop"
  echo "PostgreSQL init process complete; ready for start up."
fi

quoted=""
for arg in "$@"; do quoted="$quoted '$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")'"; done
exec su postgres -s /bin/sh -c "exec '$PGBIN/postgres' -D '$PGDATA' -c listen_addresses='*' $quoted"
