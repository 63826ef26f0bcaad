#!/usr/bin/env bash
# Create .venv and install DM with its test extras; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    touch "$stamp"
fi
if ! command -v kubectl >/dev/null; then
    echo "kubectl is required on PATH (https://kubernetes.io/docs/tasks/tools/)" >&2
    exit 1
fi
