#!/usr/bin/env bash
# Install what the tests need and run them all (node's test runner over dist/test).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/deps.sh test
export PATH="$(readlink -f "$here/.venv")/bin:$PATH"
mkdir -p test-artifacts
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found under dist/test" >&2; exit 1; fi
exec node --test --test-timeout=600000 --test-reporter=spec "${files[@]}"
