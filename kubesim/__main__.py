"""`python -m kubesim --port N --kubeconfig PATH [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .kubeconfig import write_kubeconfig
from .server import make_server


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m kubesim",
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
