#!/usr/bin/env bash
# Builds Postern and runs it on a local default: a private PostgreSQL cluster in .local/,
# migrated, with a demo user, a self-signed certificate, and the relay on 127.0.0.1:9000
# (STARTTLS; plaintext AUTH allowed from loopback only), delivering into the local maildir
# .local/maildir. Ctrl-C stops the relay and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSTERN_TESTS=OFF >/dev/null
ninja -C build-release postern mailadmin

state=${POSTERN_LOCAL_DIR:-$root/.local}
mkdir -p "$state"
chmod 755 "$state"
# PostgreSQL runs as the postern user when we are root, and that user must reach the folder.
pgdir=$state/pg
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$state"; then
  pgdir=/var/tmp/postern-local-$(echo "$state" | md5sum | cut -c1-8)/pg
  mkdir -p "$(dirname "$pgdir")"; chmod 755 "$(dirname "$pgdir")"
  echo "note: $state is private; PostgreSQL data goes to $pgdir"
fi
url=$(scripts/pg-cluster.sh start "$pgdir")
trap 'scripts/pg-cluster.sh stop "$pgdir"' EXIT

mailadmin=build-release/mailadmin/mailadmin
export DATABASE_URL=$url
$mailadmin migrate   # as the owner; also creates the relay's role postern_relay and grants it
# postern connects as that role (the private cluster trusts loopback: no password needed).
relay_url=${url/:\/\/postern@/://postern_relay@}
if ! $mailadmin show user demo >/dev/null 2>&1; then
  echo demo | $mailadmin add user demo --password-stdin
  $mailadmin add domain demo.example
  $mailadmin grant domain demo.example to demo
  $mailadmin add address demo@test.com
  $mailadmin grant address demo@test.com to demo
fi

if [ ! -f "$state/tls.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$state/tls.key" -out "$state/tls.crt" 2>/dev/null
fi

cat >"$state/postern.yaml" <<YAML
# Written by scripts/run-local.sh; edit freely, it is rewritten at the next run.
hostname: localhost
database:
  url_file: $state/database-url
listeners:
  - address: 127.0.0.1
    port: ${POSTERN_PORT:-9000}
    tls: starttls
    allow_plaintext_auth_on_loopback: true
tls:
  certificate: $state/tls.crt
  key: $state/tls.key
# The local sink: every delivered message becomes a file in $state/maildir/new.
upstreams:
  - name: local
    kind: maildir
    path: $state/maildir
default_upstream: local
logging:
  level: info
shutdown_grace_seconds: 5
YAML
echo "$relay_url" >"$state/database-url"
chmod 600 "$state/database-url"

cat <<INFO

Postern is starting on 127.0.0.1:${POSTERN_PORT:-9000} (STARTTLS; plaintext AUTH allowed from loopback).
  user demo, password demo, may send as *@demo.example and demo@test.com
  try:  swaks --server 127.0.0.1:${POSTERN_PORT:-9000} --auth PLAIN --auth-user demo --auth-password demo \\
              --from demo@demo.example --to someone@example.org
  admin: DATABASE_URL=$url $mailadmin list users
  queue: DATABASE_URL=$url $mailadmin queue list
  delivered mail: $state/maildir/new/

INFO
build-release/server/postern --config "$state/postern.yaml"
