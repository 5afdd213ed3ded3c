# shellcheck shell=bash
# The test cluster's ingress controller: Traefik, standing in for the AWS Load Balancer Controller.
# One static binary with no data plane of its own to install; it follows networking.k8s.io/v1
# Ingresses of the IngressClasses whose controller is traefik.io/ingress-controller and writes
# their status address. Built from the Go module proxy through the wrapper module tools/go/traefik
# (its web UI assets are generated upstream and not in the module zip: the binary serves no
# dashboard, which the tests do not use). Sourced by tools/bootstrap.sh.

EXTRA_TOOLS+=(traefik)

build_traefik() {
  local pkg=github.com/traefik/traefik/v3/pkg/version
  cd "$(stage_module traefik)" && go build -trimpath -ldflags "-s -w -X $pkg.Version=$TRAEFIK_VERSION \
    -X $pkg.BuildDate=$TRAEFIK_RELEASE_DATE" -o "$1/traefik" github.com/traefik/traefik/v3/cmd/traefik
}

# Prints the version of a traefik binary ("3.6.12"), or nothing.
traefik_version_of() {
  "$1" version 2>/dev/null | awk '$1 == "Version:" { print $2; exit }'
}

ensure_traefik() {
  local found
  found=$(command -v traefik 2>/dev/null || true)
  if [ -n "$found" ] && [ "$found" != "$(dir_of traefik "$TRAEFIK_VERSION")/bin/traefik" ] \
     && [ "$(traefik_version_of "$found")" = "$TRAEFIK_VERSION" ]; then
    say "traefik $TRAEFIK_VERSION: found on PATH ($found)"
    return
  fi
  need_go traefik; build traefik "$TRAEFIK_VERSION" build_traefik
}
