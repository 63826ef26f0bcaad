"""`python -m kubesim --port N --kubeconfig PATH [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .controllers import Settings
from .kubeconfig import write_kubeconfig
from .server import make_server
from .simulator import Simulator


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m kubesim",
        description="In-memory Kubernetes API simulator: controllers make workload status "
        "real, no container ever runs.",
    )
    parser.add_argument("--port", type=int, default=6443, help="port to listen on (0: any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for kubectl here")
    parser.add_argument("--pod-start-seconds", type=float, default=0.2,
                        help="how long a pod stays Pending before it runs and is Ready")
    parser.add_argument("--nodes", type=int, default=1,
                        help="simulated nodes (a DaemonSet runs a pod on each)")
    args = parser.parse_args(argv)
    if args.pod_start_seconds < 0 or args.nodes < 1:
        parser.error("--pod-start-seconds must be >= 0 and --nodes >= 1")
    sim = Simulator(Settings(pod_start_seconds=args.pod_start_seconds, nodes=args.nodes))
    sim.start()
    server = make_server(args.host, args.port, sim)
    port = server.server_address[1]
    url = f"http://{args.host}:{port}"
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        f"Kubernetes API simulator listening on {url} - simulated controllers, "
        f"{args.nodes} node(s), pods ready after {args.pod_start_seconds}s, no containers run"
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
