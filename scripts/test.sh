#!/usr/bin/env bash
# Run DM's whole test suite: installs what the tests need, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
