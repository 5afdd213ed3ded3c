# esbuild, the compiler of TypeScript node handlers (engine/local/source_compile.py), into
# $CACHE/esbuild-<version>/bin/esbuild. Sourced by tools/bootstrap.sh (uses its say, die, build,
# CACHE). The binary is npm's @esbuild/linux-x64 at ESBUILD_VERSION — the platform package the
# `esbuild` package's install step would pick — fetched with the pinned node's npm (any npm
# otherwise), checked against ESBUILD_LINUX_X64_INTEGRITY and called directly: no install
# scripts run, and the JavaScript API package is not needed.
EXTRA_TOOLS+=(esbuild)

build_esbuild() {
  local out=$1 work npm_dir tgz digest
  npm_dir="$CACHE/runtimes/node-$NODE_RUNTIME_VERSION/bin"
  [ -x "$npm_dir/npm" ] && export PATH="$npm_dir:$PATH"
  command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch @esbuild/linux-x64 (run \
tools/bootstrap.sh node_runtime first, or install Debian's npm)"; return 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && npm pack --silent "@esbuild/linux-x64@$ESBUILD_VERSION")
  tgz="$work/esbuild-linux-x64-$ESBUILD_VERSION.tgz"
  digest="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$digest" = "$ESBUILD_LINUX_X64_INTEGRITY" ] || { echo "integrity mismatch: $digest"; return 1; }
  tar -xzf "$tgz" -C "$work" package/bin/esbuild
  install -m 755 "$work/package/bin/esbuild" "$out/esbuild"
  [ "$("$out/esbuild" --version)" = "$ESBUILD_VERSION" ]
}

ensure_esbuild() { ensure_node_runtime; build esbuild "$ESBUILD_VERSION" build_esbuild; }
