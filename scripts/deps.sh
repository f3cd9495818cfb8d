#!/usr/bin/env bash
# Install what jhub needs on Debian 12 (idempotent: only what is missing).
#   scripts/deps.sh run    — to run the hub: build tools, Node packages, the build, and the
#                            single-user server (jupyterhub-singleuser + JupyterLab) in .venv
#   scripts/deps.sh test   — additionally what the tests need: PostgreSQL, Chromium, sudo,
#                            the Python packages the tests drive (idle culler, Flask, requests),
#                            Node.js 22 and 24 (scripts/node-versions.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

say() { printf '[deps] %s\n' "$*" >&2; }

need_node() {
  if ! command -v node >/dev/null 2>&1; then
    say "Node.js >= 20 is required (https://nodejs.org or your distribution's packages)"; exit 1
  fi
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then say "Node.js >= 20 is required, found $(node --version)"; exit 1; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  if [ ! -f /tmp/.jhub-apt-updated ]; then $SUDO apt-get update -q >/dev/null && touch /tmp/.jhub-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

need_node
pkgs=(python3 python3-venv g++ make libpam0g-dev)
[ "$mode" = test ] && pkgs+=(postgresql chromium sudo openssl procps passwd)
apt_install "${pkgs[@]}"

# Node packages (better-sqlite3 builds from source when no prebuilt binary can be fetched).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node packages"
  npm ci --no-audit --no-fund >/dev/null
fi
say "building"
npm run -s build

# Node.js 22 and 24, each with jhub's node_modules built for its ABI, for
# test/hub/node-versions.test.ts (scripts/node-versions.sh; a no-op when done). The first time
# it mostly compiles better-sqlite3 twice: run it while the Python packages install.
node_versions_pid=
if [ "$mode" = test ]; then
  bash scripts/node-versions.sh install &
  node_versions_pid=$!
fi

# The single-user server the default spawner runs. It must be runnable by every user the
# hub starts servers for: as root the virtualenv lives in /opt/jhub/venv (world-readable, built
# on Debian's /usr/bin/python3), linked as .venv; otherwise in .venv.
py_pkgs=("jupyterhub>=5" jupyterlab)
[ "$mode" = test ] && py_pkgs+=(jupyterhub-idle-culler flask requests cryptography)
if [ ! -e .venv ]; then
  venv_dir=.venv
  if [ "$(id -u)" -eq 0 ]; then venv_dir=${JHUB_VENV:-/opt/jhub/venv}; fi
  py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  if [ ! -x "$venv_dir/bin/python" ]; then
    say "creating the Python virtualenv $venv_dir"
    mkdir -p "$(dirname "$venv_dir")"
    "$py" -m venv "$venv_dir"
  fi
  [ "$venv_dir" != .venv ] && ln -sfn "$venv_dir" .venv
  chmod -R a+rX "$venv_dir" 2>/dev/null || true
fi
stamp=".venv/.jhub-$mode"
if [ ! -f "$stamp" ]; then
  say "installing Python packages: ${py_pkgs[*]}"
  .venv/bin/pip install -q --disable-pip-version-check "${py_pkgs[@]}"
  chmod -R a+rX "$(readlink -f .venv)" 2>/dev/null || true
  touch "$stamp"
fi

if [ -n "$node_versions_pid" ]; then
  rc=0; wait "$node_versions_pid" || rc=$?
  case $rc in
    0) ;;
    2) say "no other Node.js builds for this platform: test/hub/node-versions.test.ts will skip" ;;
    *) say "scripts/node-versions.sh install failed (exit $rc)"; exit "$rc" ;;
  esac
fi
