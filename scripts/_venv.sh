# Sourced by scripts/demo and scripts/test: create .venv (once) and install tunelab into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q -U pip
fi
# constraints.txt pins a known-good set (without it pip can backtrack for many minutes
# between boto3, s3fs and aiobotocore); it only constrains, it installs nothing by itself.
# The test venv also gets the compat extra: what tests/compat's Ray example scripts need.
EXTRAS="$1"
if [ "$EXTRAS" = test ]; then EXTRAS="test,compat"; fi
.venv/bin/python -m pip install -q -c constraints.txt -e ".[$EXTRAS]"
