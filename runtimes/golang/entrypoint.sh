#!/bin/sh
# Container entrypoint of lambdaclone/runtime-golang: compile the user's handler.go together
# with the wrapper, then exec the binary. The code only arrives at run time (ConfigMap mount or
# S3 init container at LAMBDA_CODE_DIR), so the build happens here, in a writable emptyDir
# (LAMBDA_BUILD_DIR, default /tmp/lambdaclone). If the code does not compile, the prebuilt
# load-error server answers health and every invocation with 500 HandlerLoadError carrying the
# compiler output, so the platform can show the user why.
# Mirrors runtimes/launch.py:go_build_plan (the local target's version of these steps).
set -eu

LIB="${LAMBDA_RUNTIME_LIB:-/opt/lambdaclone}"
BUILD="${LAMBDA_BUILD_DIR:-/tmp/lambdaclone}"
CODE="${LAMBDA_CODE_DIR:-/var/task}"
FUNC="${LAMBDA_HANDLER:-handler.handler}"
FUNC="${FUNC##*.}"
SRC="$BUILD/src"

mkdir -p "$SRC"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOWORK=off GO111MODULE=on
export GOPATH="$BUILD/gopath"
# The image ships a warm build cache; Go needs it writable, so copy it into the emptyDir once.
if [ -z "${GOCACHE:-}" ]; then
  export GOCACHE="$BUILD/gocache"
  [ -d "$GOCACHE" ] || cp -R "$LIB/gocache" "$GOCACHE" 2>/dev/null || mkdir -p "$GOCACHE"
fi

fail() {
  printf '%s\n' "$1" > "$BUILD/build.log"
  export LAMBDA_LOAD_ERROR_FILE="$BUILD/build.log"
  exec "$LIB/loaderror"
}

case "$FUNC" in
  ''|[0-9]*|*[!A-Za-z0-9_]*) fail "Go handler function '$FUNC' is not an identifier" ;;
esac
[ -f "$CODE/handler.go" ] || fail "cannot find handler.go in $CODE"

printf 'module lambdaclone/function\n\ngo 1.22\n' > "$SRC/go.mod"
cp "$LIB/main.go" "$SRC/lambdaclone_main.go"
cp "$CODE/handler.go" "$SRC/handler.go"
printf 'package main\n\nfunc init() { lcUserHandler = %s }\n' "$FUNC" > "$SRC/lambdaclone_entry.go"

if ! (cd "$SRC" && go build -trimpath -ldflags='-s -w' -o "$BUILD/function" . > "$BUILD/build.log" 2>&1); then
  cat "$BUILD/build.log" >&2
  fail "$(cat "$BUILD/build.log")"
fi
exec "$BUILD/function"
