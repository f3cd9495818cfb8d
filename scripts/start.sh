#!/usr/bin/env bash
# Install what is missing and start the hub with the default configuration:
# SQLite (./jupyterhub.sqlite), PAM login, local processes as each user, jhub-proxy on :8000.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/deps.sh" run
# jupyterhub-singleuser from the project's virtualenv must be on the PATH the spawner passes on.
export PATH="$(readlink -f "$here/.venv")/bin:$PATH"
exec "$here/bin/jhub" "$@"
