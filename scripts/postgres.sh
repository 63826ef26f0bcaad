#!/usr/bin/env bash
# Make sure the PostgreSQL server the repository tests use answers on 127.0.0.1:5432,
# starting an installed but stopped Debian cluster when needed.
set -euo pipefail
answers() {
    command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432
}
if answers; then
    exit 0
fi
if command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ]; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 40); do
        answers && exit 0
        sleep 0.25
    done
fi
echo "PostgreSQL does not answer on 127.0.0.1:5432: the PostgreSQL tests will skip (fail in CI)" >&2
exit 1
