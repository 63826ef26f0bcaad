#!/usr/bin/env bash
# Create .venv and install DM with its test extras; quick when nothing changed.
# The editable install is a plain path entry (editable_mode=compat): setuptools' default
# import hook would cost every Python process of the venv (each service, each `dm`) about
# 8 ms at start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
    echo "installing DM and its dependencies into .venv (log: .venv/install.log)"
    if ! { .venv/bin/python -m pip install --upgrade pip \
        && .venv/bin/python -m pip install -e '.[test]' --config-settings editable_mode=compat; } >.venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "installation failed; see .venv/install.log" >&2
        exit 1
    fi
    touch "$stamp"
fi
if ! command -v kubectl >/dev/null; then
    echo "kubectl is required on PATH (https://kubernetes.io/docs/tasks/tools/)" >&2
    exit 1
fi
