"""`python -m resourcifier.sim --port N --kubeconfig PATH [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import yaml

from .server import make_server

NAME = "sim"


def kubeconfig(server_url: str) -> dict:
    """A kubeconfig whose cluster, user and current context are all named "sim"."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": {"server": server_url}}],
        "users": [{"name": NAME, "user": {"token": "sim"}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME,
                                                 "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str) -> None:
    """Write the kubeconfig atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(yaml.safe_dump(kubeconfig(server_url), sort_keys=False))
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m resourcifier.sim",
        description="In-memory Kubernetes API simulator: it stores objects and runs nothing.",
    )
    parser.add_argument("--port", type=int, default=6443, help="port to listen on (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for kubectl here")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port)
    port = server.server_address[1]
    url = f"http://{args.host}:{port}"
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"Kubernetes API simulator listening on {url} - it stores objects and runs nothing "
        f"(no pods, no controllers)"
        + (f"; kubeconfig: {args.kubeconfig}" if args.kubeconfig else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
