#!/usr/bin/env bash
# Installs every Debian 12 package Postern needs to build, run and test, when missing.
# Safe to run repeatedly: it only calls apt-get when something is absent.
#
#   scripts/install-deps.sh               everything: build, run and test (the default)
#   scripts/install-deps.sh --build-only  only what compiling postern and mailadmin needs
#                                         (the image's build stage)
set -euo pipefail

build_only=false
case "${1:-}" in
  "") ;;
  --build-only) build_only=true ;;
  *) echo "usage: install-deps.sh [--build-only]" >&2; exit 2 ;;
esac

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libssl-dev libpqxx-dev libpq-dev libsodium-dev libidn2-dev
  libcli11-dev libyaml-cpp-dev libgtest-dev nlohmann-json3-dev libpcre2-dev
  libcurl4-openssl-dev  # postern-combine --imap
  librabbitmq-dev  # rabbitmq-c: journal upstreams of kind amqp
  postgresql-15 postgresql-client-15
  clang libclang-rt-14-dev
  prometheus  # promtool: tests/e2e/test_http.py checks GET /metrics with it
  python3 python3-aiosmtpd swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl curl openssl ca-certificates procps
  yamllint
  libgfshare-bin  # gfsplit/gfcombine: an independent Shamir implementation the share tests combine with
  dovecot-core dovecot-imapd  # the IMAP server tests/cli/test_postern_combine_imap.py reads shares from
  dovecot-pop3d  # the POP3 server of tests/e2e/test_delivery_pop_before_smtp.py
  rabbitmq-server python3-pika  # the broker and client of tests/e2e/test_amqp_publisher.py
  python3-cryptography  # signs the JWTs of tests/e2e/test_relay_oauth.py
  haproxy  # the load balancer of tests/e2e/test_relay_proxy_protocol.py (PROXY protocol v1 and v2)
  python3-dkim  # verifies the DKIM signatures of tests/e2e/test_dkim.py
)
if $build_only; then
  packages=(
    build-essential cmake ninja-build pkg-config
    libboost-dev libssl-dev libpqxx-dev libpq-dev libsodium-dev libidn2-dev
    libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libcurl4-openssl-dev libpcre2-dev librabbitmq-dev
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm (tests/openapi and tests/k8s run pinned npm packages) by their commands: a
# machine may have them from elsewhere than Debian, and Debian's npm conflicts with those.
if ! $build_only && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
