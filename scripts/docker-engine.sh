#!/usr/bin/env bash
# Make a Docker engine reachable for the docker backend's tests, and build the tiny
# busybox image they use (there is no registry to pull from).
#
# Idempotent: an engine that already answers (DOCKER_HOST or the default socket) is
# used as it is; otherwise Debian's docker.io is installed when missing and dockerd is
# started in the background with the overlay2 storage driver where the kernel lets us
# mount an overlay, else vfs, which works everywhere but copies a whole image for every
# container and build step. DM_DOCKER_STORAGE_DRIVER picks one.
# Logs and the pid file go to $DM_DOCKER_STATE (default /tmp/dm-dockerd).
set -euo pipefail

STATE="${DM_DOCKER_STATE:-/tmp/dm-dockerd}"
IMAGE="${DM_TEST_IMAGE:-dm-test/busybox:latest}"
mkdir -p "$STATE"

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "installing $* needs root; install it yourself and re-run" >&2
        exit 1
    fi
    echo "installing $* (log: $STATE/apt.log)"
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"; } >>"$STATE/apt.log" 2>&1; then
        tail -n 20 "$STATE/apt.log" >&2
        exit 1
    fi
}

engine_answers() {
    docker info >/dev/null 2>&1
}

storage_driver() {
    local probe driver=vfs
    probe="$(mktemp -d)"
    mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
    if mount -t overlay overlay \
        -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
        umount "$probe/merged"
        driver=overlay2
    fi
    rm -rf "$probe"
    echo "$driver"
}

if ! command -v docker >/dev/null || { ! engine_answers && ! command -v dockerd >/dev/null; }; then
    apt_install docker.io
fi
# The compose stack's tests run deploy/docker-compose.yml with Debian's docker-compose.
command -v docker-compose >/dev/null || apt_install docker-compose

if ! engine_answers; then
    if [ -n "${DOCKER_HOST:-}" ]; then
        echo "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine" >&2
        exit 1
    fi
    if [ -f "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
        echo "dockerd (pid $(cat "$STATE/dockerd.pid")) is starting"
    else
        driver="${DM_DOCKER_STORAGE_DRIVER:-$(storage_driver)}"
        echo "starting dockerd with the $driver storage driver (log: $STATE/dockerd.log)"
        # No iptables: containers only need to reach each other on user-defined networks
        # and the host through published ports, which docker-proxy serves without NAT.
        nohup dockerd --storage-driver="$driver" --iptables=false --ip6tables=false \
            --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
    fi
    for _ in $(seq 1 120); do
        engine_answers && break
        sleep 0.5
    done
    if ! engine_answers; then
        tail -n 30 "$STATE/dockerd.log" >&2
        echo "dockerd did not answer within 60s" >&2
        exit 1
    fi
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    busybox_bin=$(command -v busybox || true)
    if [ -z "$busybox_bin" ] || ! file -L "$busybox_bin" 2>/dev/null | grep -q static; then
        [ -x /bin/busybox ] || apt_install busybox-static
        busybox_bin=/bin/busybox
    fi
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/bin" "$root/tmp" "$root/www" "$root/etc"
    cp "$busybox_bin" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
    echo "root:x:0:" >"$root/etc/group"
    tar -C "$root" -cf - . | docker import \
        --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
    echo "built $IMAGE"
fi
echo "docker engine ready: $(docker version --format '{{.Server.Version}}')"
