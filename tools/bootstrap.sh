#!/usr/bin/env bash
# Finds or builds every external tool lambdaclone needs, into a versioned cache OUTSIDE the repo
# so clean clones and CI reuse it. Order per tool: on PATH at the pinned version -> the cache ->
# built from Go modules (or installed from Debian's packages). Idempotent; prints progress.
#
#   tools/bootstrap.sh            all tools
#   tools/bootstrap.sh pulumi ... only the named ones
#   tools/bootstrap.sh --print-env   the PATH line that puts the cache's bin dirs first
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/versions.env
source "$here/versions.env"

CACHE=${LAMBDACLONE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lambdaclone/tools}
LOGS="$CACHE/logs"
mkdir -p "$CACHE" "$LOGS"

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
# Checksums of these modules are pinned by the committed go.sum files; sum.golang.org does not
# serve every pseudo-version the proxy does.
export GONOSUMDB=github.com/pulumi

say() { printf '\033[1m[tools]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[tools] %s\033[0m\n' "$*" >&2; exit 1; }

dir_of() { echo "$CACHE/$1-$2"; }
done_marker() { echo "$(dir_of "$1" "$2")/.complete"; }
is_built() { [ -f "$(done_marker "$1" "$2")" ]; }

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is needed to build $1 (install Go >= 1.22 from your \
distribution or go.dev; the module proxy then supplies any newer toolchain the build asks for)."
}

# build NAME VERSION FN: runs FN with $out (the tool's bin dir) unless already built, timing it.
build() {
  local name=$1 version=$2 fn=$3 out start
  out="$(dir_of "$name" "$version")/bin"
  if is_built "$name" "$version"; then
    say "$name $version: cached in $out"
    return
  fi
  say "$name $version: building (log: $LOGS/$name-$version.log) ..."
  mkdir -p "$out"
  start=$(date +%s)
  if ! ( "$fn" "$out" ) >"$LOGS/$name-$version.log" 2>&1; then
    tail -n 30 "$LOGS/$name-$version.log" >&2
    die "$name $version: build failed; full log: $LOGS/$name-$version.log"
  fi
  echo "$(( $(date +%s) - start ))" >"$(done_marker "$name" "$version")"
  say "$name $version: built in $(( $(date +%s) - start ))s"
}

# A copy of a wrapper module in the cache, so builds never write into the repo.
stage_module() {
  local src="$here/go/$1" dst="$CACHE/src/$1"
  rm -rf "$dst" && mkdir -p "$dst" && cp -r "$src/." "$dst/"
  echo "$dst"
}

build_pulumi() {
  local src
  src=$(stage_module pulumi)
  cd "$src" && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$1/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_pulumi_kubernetes() {
  local src mod
  src=$(stage_module pulumi-kubernetes)
  cd "$src" && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
  mod=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
  # What upstream's `go generate` does: the schema with its version set, minified mappings.
  python3 - "$mod/cmd/pulumi-resource-kubernetes" "$src" "$PULUMI_KUBERNETES_VERSION" <<'PY'
import json, sys
src, dst, version = sys.argv[1:]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open(f"{dst}/schema-embed.json", "w"), separators=(",", ":"))
mapping = json.load(open(f"{src}/terraform-mapping.json"))
json.dump(mapping, open(f"{dst}/terraform-mapping-embed.json", "w"), separators=(",", ":"))
PY
  go build -trimpath -ldflags "-s -w \
    -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
    -o "$1/pulumi-resource-kubernetes" .
}

build_kubernetes() {
  local src pkg ldflags minor
  src=$(stage_module kubernetes)
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  pkg=k8s.io/component-base/version
  # Unstamped binaries report v0.0 and pulumi-kubernetes refuses the cluster.
  ldflags="-s -w -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
    -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  cd "$src"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
    echo "== $cmd"
    go build -trimpath -ldflags "$ldflags" -o "$1/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  done
}

build_kwok() {
  cd "$(stage_module kwok)" && go build -trimpath -ldflags "-s -w" -o "$1/kwok" sigs.k8s.io/kwok/cmd/kwok
}

# FERRETDB_BUILD records which recipe of tools/go/ferretdb built it (bump it with any change).
build_ferretdb() {
  cd "$(stage_module ferretdb)" && go build -trimpath -ldflags "-s -w" -o "$1/ferretdb" .
  echo "$FERRETDB_BUILD" >"$1/../.build"
}

apt_install() {
  local pkg=$1
  [ "$(id -u)" = 0 ] || die "$pkg is missing: install Debian's package '$pkg' (sudo apt-get install $pkg)."
  say "$pkg: installing from Debian's packages ..."
  if ! apt-get install -y -qq "$pkg" >"$LOGS/apt-$pkg.log" 2>&1; then
    apt-get update -qq >>"$LOGS/apt-$pkg.log" 2>&1 || true
    apt-get install -y -qq "$pkg" >>"$LOGS/apt-$pkg.log" 2>&1 || {
      tail -n 20 "$LOGS/apt-$pkg.log" >&2; die "apt-get install $pkg failed"; }
  fi
}

ensure_pulumi() {
  if command -v pulumi >/dev/null 2>&1 && [ "$(pulumi version 2>/dev/null)" = "v$PULUMI_VERSION" ] \
     && [ "$(command -v pulumi)" != "$(dir_of pulumi "$PULUMI_VERSION")/bin/pulumi" ]; then
    say "pulumi $PULUMI_VERSION: found on PATH ($(command -v pulumi))"
    return
  fi
  need_go pulumi; build pulumi "$PULUMI_VERSION" build_pulumi
}

ensure_pulumi_kubernetes() {
  need_go pulumi-resource-kubernetes
  build pulumi-kubernetes "$PULUMI_KUBERNETES_VERSION" build_pulumi_kubernetes
}
ensure_kubernetes() {
  need_go kubernetes
  # A cache built before the node binaries were added lacks them: build it again.
  local bin; bin="$(dir_of kubernetes "$KUBERNETES_VERSION")/bin"
  if is_built kubernetes "$KUBERNETES_VERSION" && [ ! -x "$bin/kubelet" ]; then
    rm -f "$(done_marker kubernetes "$KUBERNETES_VERSION")"
  fi
  build kubernetes "$KUBERNETES_VERSION" build_kubernetes
}
ensure_kwok() { need_go kwok; build kwok "$KWOK_VERSION" build_kwok; }
ensure_ferretdb() {
  need_go ferretdb
  # The cache is keyed by version and recipe: one built by another FERRETDB_BUILD is built again.
  local dir; dir=$(dir_of ferretdb "$FERRETDB_VERSION")
  if is_built ferretdb "$FERRETDB_VERSION" && [ "$(cat "$dir/.build" 2>/dev/null)" != "$FERRETDB_BUILD" ]; then
    rm -f "$(done_marker ferretdb "$FERRETDB_VERSION")"
  fi
  build ferretdb "$FERRETDB_VERSION" build_ferretdb
}
ensure_etcd() {
  command -v etcd >/dev/null 2>&1 && { say "etcd: found on PATH"; return; }
  apt_install etcd-server
}
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && { say "chromium: found on PATH"; return; }
  apt_install chromium
}

# More tools, one file each: tools/recipes/<name>.sh defines `ensure_<name>` (and its build
# function) and appends <name> to EXTRA_TOOLS. Their versions are pinned in versions.env too.
EXTRA_TOOLS=()
for recipe in "$here"/recipes/*.sh; do
  [ -e "$recipe" ] || continue
  # shellcheck source=/dev/null
  source "$recipe"
done

print_env() {
  local dirs=""
  for d in "$CACHE"/*/bin; do [ -d "$d" ] && dirs="$dirs:$d"; done
  echo "export PATH=\"${dirs#:}:\$PATH\""
}

main() {
  if [ "${1:-}" = "--print-env" ]; then print_env; return; fi
  local tools=("$@")
  [ ${#tools[@]} -gt 0 ] || tools=(ferretdb etcd kwok pulumi pulumi_kubernetes kubernetes chromium \
    "${EXTRA_TOOLS[@]}")
  for t in "${tools[@]}"; do "ensure_${t//-/_}"; done
  say "all tools ready in $CACHE"
}

main "$@"
