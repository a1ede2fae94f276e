#!/usr/bin/env bash
# Create .venv (or $VENV) with every dependency pinned by constraints.txt, offline-safe on Python 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/pip" install -q -c constraints.txt -e ".[train,dev]" 2>&1 | grep -v "^WARNING: Location" || true
# Several packages install into the same `fasttext` module and the last one wins: the community build
# is the one that both trains and predicts correctly under numpy 2, so it goes last.
"$VENV/bin/pip" install -q --no-deps --force-reinstall fasttext-community==0.11.9 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" - <<'PY'
import fasttext, numba, torch, ray, pyarrow  # noqa: F401
assert hasattr(fasttext, "train_supervised"), "fasttext-community was not installed last"
print("environment ready:", torch.__version__, ray.__version__, pyarrow.__version__)
PY
