#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a folder, on a free loopback port: for the local run and
# the test suite. PostgreSQL refuses to run as root, so as root the cluster runs as `postgres`.
#
#   scripts/pg-cluster.sh start DIR [--fsync off]   prints the database URL (also in DIR/url)
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh url DIR
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop|url DIR}
dir=${2:?usage: pg-cluster.sh start|stop|url DIR}
fsync=on
if [ "${3:-}" = "--fsync" ]; then fsync=${4:?--fsync needs on or off}; fi

bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -n "$bindir" ] || { echo "pg-cluster: PostgreSQL 15 server not installed (scripts/install-deps.sh)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "pg-cluster: user postgres cannot reach $dir (a parent folder is private); use a folder under /tmp or /var/tmp" >&2
        exit 1
      fi
    fi
    if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      cat "$dir/url"; exit 0
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir/data" -U postern -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200" start >/dev/null \
      || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
    as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postern -d postgres -qAt \
      -c "SELECT 1 FROM pg_database WHERE datname = 'postern'" | grep -q 1 \
      || as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postern postern
    url="postgresql://postern@127.0.0.1:$port/postern"
    echo "$url" | as_owner tee "$dir/url" >/dev/null
    echo "$url"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  url)
    cat "$dir/url"
    ;;
  *)
    echo "usage: pg-cluster.sh start|stop|url DIR" >&2; exit 2 ;;
esac
