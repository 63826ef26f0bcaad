#!/usr/bin/env bash
# Run DM's whole test suite. Installs what the tests need first: the virtualenv, a
# Docker engine for the docker backend's tests (as root), PostgreSQL if it is installed
# but stopped, chromium and its driver for the web UI's tests (as root). Extra arguments
# go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

# In CI every part of the suite must run, so a missing engine or database fails the run;
# elsewhere those tests skip and say why.
engine=yes
if [ -n "${CI:-}" ]; then
    scripts/docker-engine.sh
else
    scripts/docker-engine.sh || {
        engine=
        echo "no Docker engine: the docker backend's tests will skip"
    }
fi
scripts/postgres.sh || { [ -z "${CI:-}" ] || exit 1; }
scripts/chromium.sh || { [ -z "${CI:-}" ] || exit 1; }

# The whole suite builds DM's image (the compose tests run scripts/image.sh, as the docs
# say): start that build now, alongside the first tests; after the installs above, so
# that its own apt-get (debootstrap, on a new machine) meets no other. The tests' run of
# the script waits for this one (it holds a lock) and finds the image built, or builds
# it again and reports why it failed.
if [ -n "$engine" ] && [ $# -eq 0 ]; then
    mkdir -p build
    echo "building DM's image in the background (log: build/image.log)"
    scripts/image.sh >build/image.log 2>&1 &
fi

# Most tests wait on real processes (services, kubectl, the simulator), so more workers
# than cores pay off; each worker starts its own shared services. DM_TEST_WORKERS=0 runs
# everything in this process.
workers="${DM_TEST_WORKERS:-4}"
if [ "$workers" = "0" ]; then
    exec .venv/bin/python -m pytest -q "$@"
fi
exec .venv/bin/python -m pytest -q -n "$workers" --dist loadfile "$@"
