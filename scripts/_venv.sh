# Sourced by scripts/demo and scripts/test: create .venv (once) and install tunelab into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q -U pip
fi
.venv/bin/python -m pip install -q -e ".[$1]"
