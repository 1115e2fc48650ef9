# Throwaway stores for the benchmark scripts, sourced (`. bench/stores.sh`): a Redis with its
# append-only file fsynced at every write, and a Postgres cluster (fsync and synchronous_commit
# on, run as the `postgres` user when the script runs as root). Each installs its Debian
# package when it is missing, and `stop_stores` (call it from the script's EXIT trap) stops both.
# They need STORES_DIR, a directory the script removes at its end.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stores_install() { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
REDIS_PID= PG_PID=

# Sets REDIS_URL.
start_redis() {
  command -v redis-server >/dev/null || stores_install redis-server
  local port; port=$(free_port)
  mkdir -p "$STORES_DIR/redis"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
    --dir "$STORES_DIR/redis" >/dev/null 2>&1 &
  REDIS_PID=$!
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
  REDIS_URL="redis://127.0.0.1:$port"
}

# Sets PG_URL (the `postgres` database: make others with `pg_psql "CREATE DATABASE ..."`).
start_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || stores_install postgresql
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_PORT=$(free_port)
  mkdir -p "$STORES_DIR/pg"
  chmod a+x "$STORES_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$STORES_DIR/pg"
  as_pg "$PGBIN/initdb" -U postgres -A trust -E UTF8 --no-sync -D "$STORES_DIR/pg/data" >/dev/null
  as_pg "$PGBIN/postgres" -D "$STORES_DIR/pg/data" -p "$PG_PORT" -h 127.0.0.1 -k "" -c fsync=on \
    -c synchronous_commit=on -c max_connections=200 -c shared_buffers=256MB \
    >"$STORES_DIR/pg/postgres.log" 2>&1 &
  PG_PID=$!
  for _ in $(seq 100); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi; }
pg_psql() { "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1"; }

stop_stores() {
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
  if [ -n "$PG_PID" ]; then kill -INT "$PG_PID" 2>/dev/null || true; wait "$PG_PID" 2>/dev/null || true; fi
}
