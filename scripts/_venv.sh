# Sourced by scripts/demo and scripts/test: create .venv (once) and install tunelab into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
say() { echo "==> $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment .venv (with $("$PY" --version 2>&1))"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q -U pip
fi
# constraints.txt pins a known-good set (without it pip can backtrack for many minutes
# between boto3, s3fs and aiobotocore); it only constrains, it installs nothing by itself.
# The test venv: every extra the tests exercise, plus the test tools of the "test" dependency
# group (PEP 735; pip >= 25.1, which the venv's pip upgrade above provides).
EXTRAS="$1"
GROUP=()
if [ "$EXTRAS" = test ]; then
  EXTRAS="all,keras,lightning,transformers,mlflow,wandb,comet,aim,hebo,ax,docs"
  GROUP=(--group test)
fi
say "installing tunelab[$EXTRAS] ${GROUP[*]} into .venv (the first time takes a few minutes; pip is quiet)"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[$EXTRAS]" "${GROUP[@]}"
# HEBO itself (its dependencies come with the hebo extra of the test venv): its metadata pins
# numpy<1.25, which a numpy-2 venv cannot satisfy, though HEBO 0.3.6 runs on numpy 2.
if [ "$1" = test ]; then
  say "installing HEBO 0.3.6 without its numpy<1.25 pin"
  .venv/bin/python -m pip install -q --no-deps "HEBO==0.3.6"
fi
say "installed"
