#!/usr/bin/env bash
# Builds the container image postern:dev with podman (no Docker engine needed) and smoke-tests
# the binaries it holds. Debian 12, as root. Takes several minutes; not part of scripts/test.sh.
#
#   scripts/build-image.sh            build, then smoke-test
#   scripts/build-image.sh --no-build smoke-test the postern:dev already built
#
# The base image debian:bookworm is made from Debian's own packages with debootstrap when it is
# not already in podman's store (no registry is needed). `podman run` does not work on every
# machine (rlimits, cgroups), so the smoke test mounts the image's filesystem and runs its
# binaries with chroot as the image's user (uid 10001), with a private PostgreSQL on loopback:
#   postern --version, mailadmin --help, mailadmin migrate/add user/grant, then postern from the
#   image accepts one authenticated message, `mailadmin queue list` shows it, and the image's
#   HEALTHCHECK command passes against it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
image=${POSTERN_IMAGE:-postern:dev}
build=true
[ "${1:-}" = "--no-build" ] && build=false

[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root (podman build with chroot isolation, chroot)" >&2; exit 1; }
log() { echo "build-image: $*"; }

need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

if $build; then
  if ! podman image exists docker.io/library/debian:bookworm; then
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /var/tmp/postern-bookworm.XXXXXX)
    log "creating the base image debian:bookworm with debootstrap from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
      || { tail -n 20 "$rootfs.log" >&2; exit 1; }
    tar -C "$rootfs" -c . | podman import - docker.io/library/debian:bookworm >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
  fi
  # --format docker keeps HEALTHCHECK (the OCI image format has no field for it).
  log "building $image"
  podman build --isolation=chroot --network=host --pull=never --format docker -t "$image" .
fi

# ---- smoke test ---------------------------------------------------------------------------------
work=$(mktemp -d /var/tmp/postern-image-smoke.XXXXXX)
chmod 755 "$work"
mnt=""
pid=""
cleanup() {
  set +e
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$mnt" ] && mountpoint -q "$mnt/tmp" && umount "$mnt/tmp"
  [ -n "$mnt" ] && podman image unmount "$image" >/dev/null
  scripts/pg-cluster.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

user=$(podman image inspect --format '{{.Config.User}}' "$image")
[ "${user%%:*}" = 10001 ] || { echo "build-image: image user is '$user', expected 10001" >&2; exit 1; }
mnt=$(podman image mount "$image")
# The image's /tmp is the only writable place, as the emptyDir in k8s/base: bind a fresh folder.
mkdir -p "$work/tmp" && chmod 1777 "$work/tmp"
mount --bind "$work/tmp" "$mnt/tmp"
in_image() { chroot --userspec=10001:10001 "$mnt" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/var/lib/postern "$@"; }

log "image root filesystem mounted read-only at $mnt (only /tmp is writable, as in k8s)"
log "postern --version: $(in_image /usr/local/bin/postern --version)"
in_image /usr/local/bin/mailadmin --help >/dev/null
log "mailadmin --help: ok"

url=$(scripts/pg-cluster.sh start "$work/pg" --fsync off)
ma() { in_image DATABASE_URL="$url" POSTERN_ARGON2_MEMORY_KIB=1024 POSTERN_ARGON2_ITERATIONS=1 /usr/local/bin/mailadmin "$@"; }
ma migrate >/dev/null
echo smoke-pw | ma add user smoke --password-stdin >/dev/null
ma add address smoke@image.test >/dev/null
ma grant address smoke@image.test to smoke >/dev/null
log "mailadmin migrate, add user, grant: ok"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
smtp_port=$(free_port)
http_port=9100   # the port the image's HEALTHCHECK probes
cat >"$work/tmp/postern.yaml" <<YAML
hostname: image-smoke.test
listeners:
  - address: 127.0.0.1
    port: $smtp_port
    tls: starttls
    allow_plaintext_auth_on_loopback: true
http:
  address: 127.0.0.1
  port: $http_port
auth:
  argon2_memory_kib: 1024
  argon2_iterations: 1
shutdown_grace_seconds: 2
YAML
with_http=true
if ! in_image POSTERN_DATABASE_URL="$url" /usr/local/bin/postern --check-config --config /tmp/postern.yaml >"$work/check.log" 2>&1; then
  if grep -q "http" "$work/check.log"; then
    log "NOTE: this postern has no http section yet ($(head -n1 "$work/check.log")); HEALTHCHECK not tested"
    with_http=false
    sed -i '/^http:/,/^  port:/d' "$work/tmp/postern.yaml"
  else
    cat "$work/check.log" >&2; exit 1
  fi
fi
if $with_http && python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$http_port))!=0)"; then
  echo "build-image: port $http_port is taken on this machine; the HEALTHCHECK probes it" >&2; exit 1
fi

# Not through the function: $! must be postern itself (chroot and env exec it) for SIGTERM below.
chroot --userspec=10001:10001 "$mnt" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin POSTERN_DATABASE_URL="$url" \
  /usr/local/bin/postern --config /tmp/postern.yaml >"$work/postern.log" 2>&1 &
pid=$!
python3 - "$smtp_port" "$pid" "$work/postern.log" <<'PY'
import os, smtplib, sys, time
port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + 30
while True:
    try:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
        break
    except OSError:
        if time.monotonic() > deadline or not os.path.exists(f"/proc/{pid}"):
            sys.exit("postern from the image did not start:\n" + open(log).read())
        time.sleep(0.2)
smtp.ehlo("smoke.test")
smtp.login("smoke", "smoke-pw")
refused = smtp.sendmail("smoke@image.test", ["someone@example.org"],
                        b"From: smoke@image.test\r\nTo: someone@example.org\r\nSubject: image smoke\r\n\r\nhello\r\n")
assert not refused, refused
smtp.quit()
PY
log "postern from the image accepted one authenticated message"
ma queue list >"$work/queue.txt"
grep -q "smoke@image.test" "$work/queue.txt" || { echo "build-image: not in the queue:" >&2; cat "$work/queue.txt" >&2; exit 1; }
log "mailadmin queue list shows it: $(grep -m1 smoke@image.test "$work/queue.txt" | tr -s ' ')"

if $with_http; then
  check=$(podman image inspect --format '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{printf "%s\n" $a}}{{end}}{{end}}' "$image")
  mapfile -t argv <<<"$(printf '%s' "$check" | sed '/^$/d')"
  [ "${argv[0]}" = /bin/bash ] || { echo "build-image: unexpected HEALTHCHECK: $check" >&2; exit 1; }
  for _ in $(seq 50); do in_image "${argv[@]}" && break; sleep 0.2; done
  in_image "${argv[@]}" || { echo "build-image: the image's HEALTHCHECK fails against a running postern" >&2; exit 1; }
  log "the image's HEALTHCHECK (GET /healthz on 9100) passes"
fi

kill -TERM "$pid"
code=0; wait "$pid" || code=$?
pid=""
[ "$code" -eq 0 ] || { echo "build-image: postern exited $code on SIGTERM" >&2; cat "$work/postern.log" >&2; exit 1; }
if [ -n "$(ls -A "$work/tmp" | grep -v '^postern.yaml$')" ]; then
  log "NOTE: postern wrote into /tmp: $(ls -A "$work/tmp" | tr '\n' ' ')"
fi
log "smoke test passed: $image"
