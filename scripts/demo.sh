#!/usr/bin/env bash
# The main job on a fresh machine: install DM, start it on the Kubernetes API simulator,
# deploy the guestbook example with `dm`, show what was created, and stop everything.
# Every wait is bounded; the trap stops DM whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
DM=.venv/bin/dm
PY=.venv/bin/python

workdir="$(mktemp -d "${TMPDIR:-/tmp}/dm-demo.XXXXXX")"
up_pid=""
cleanup() {
    status=$?
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        echo "== stopping DM"
        kill -TERM "$up_pid" 2>/dev/null || true
        # dm up stops its children within ~10 s; never wait forever.
        for _ in $(seq 1 150); do
            kill -0 "$up_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The default ports when they are free, else free ones chosen by the system.
ports="$("$PY" - <<'PYTHON'
import socket

def free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

print(*(free(port) for port in (8080, 8081, 8082, 8083)))
PYTHON
)"
read -r manager_port expander_port resourcifier_port sim_port <<<"$ports"
export DM_SERVICE="http://127.0.0.1:${manager_port}"
export KUBECONFIG="$workdir/data/sim.kubeconfig"

echo "== starting DM on the simulator (dm up --cluster sim; data in $workdir/data)"
"$DM" up --cluster sim --data-dir "$workdir/data" \
    --manager-port "$manager_port" --expander-port "$expander_port" \
    --resourcifier-port "$resourcifier_port" --sim-port "$sim_port" \
    >"$workdir/up.log" 2>&1 &
up_pid=$!

for _ in $(seq 1 600); do
    grep -q "Press Ctrl-C to stop." "$workdir/up.log" && break
    if ! kill -0 "$up_pid" 2>/dev/null; then
        cat "$workdir/up.log" >&2
        echo "dm up failed to start" >&2
        exit 1
    fi
    sleep 0.2
done
if ! grep -q "Press Ctrl-C to stop." "$workdir/up.log"; then
    cat "$workdir/up.log" >&2
    echo "dm up did not become ready within 120 s" >&2
    exit 1
fi
sed -n '1,/^$/p' "$workdir/up.log"

echo "== dm deploy examples/guestbook/guestbook.yaml"
"$DM" deploy examples/guestbook/guestbook.yaml
echo
echo "== dm get guestbook"
"$DM" get guestbook
echo
echo "== dm history guestbook"
"$DM" history guestbook
echo
echo "== kubectl get deployments,services -l deployment-manager.io/deployment=guestbook"
kubectl get deployments,services -l deployment-manager.io/deployment=guestbook
echo
echo "== dm delete guestbook"
"$DM" delete guestbook
echo
echo "demo finished: DM deployed, showed and deleted the guestbook"
