"""The console scripts dm-manager, dm-expander and dm-resourcifier: a service under gunicorn."""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import shutil
import tempfile
from typing import Any, Callable, Sequence

import click
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from dmcommon.logs import ACCESS_FORMAT, configure_logging, gunicorn_logger
from dmcommon.settings import Setting, load_settings

# Read by prometheus_client when it is first imported (see dmcommon/metrics.py).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger("dm")

# Request line and header limits: gunicorn's largest, so that the answer to a request
# over them is the only one gunicorn writes itself (in JSON, by JsonErrorWorker).
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELD_SIZE = 16384


class _Gunicorn(BaseApplication):
    """Serve an app built by a factory, with options given in code rather than on argv."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]):
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            # Older gunicorn releases lack some settings (e.g. the control socket).
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self._factory()


def service_command(
    name: str, factory_path: str, default_port: int, settings: Sequence[Setting]
) -> click.Command:
    """Build the click command that starts service `name` under gunicorn.

    Every setting becomes a flag that mirrors its DM_* variable; a flag that is given
    wins over the variable. `factory_path` is `module:function`, called with the config.
    """

    def run(
        host: str, port: int, workers: int, threads: int, timeout: int, log_level: str, **values
    ):
        overrides = {}
        for setting in settings:
            value = values[setting.key.lower()]
            if value is not None:
                overrides[setting.key] = _parsed(setting, value)
        try:
            log_format = load_settings(settings, overrides)["LOG_FORMAT"]
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        configure_logging(log_format, log_level)
        # Before the app (and with it prometheus_client) is imported.
        metrics_dir = _metrics_directory(name)
        module_name, _, function = factory_path.partition(":")
        factory = getattr(importlib.import_module(module_name), function)
        # Fail before forking workers when the settings are unusable.
        app = factory(overrides)
        if not app.config.get("INTERNAL_TOKEN"):
            log.warning(
                "dm-%s serves without DM_INTERNAL_TOKEN: the calls between the services "
                "carry no token and anyone who reaches a service is served",
                name,
            )
        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            # Threaded workers: a slow call (a deploy waiting on the cluster, an event
            # stream) never blocks health checks or other requests.
            "worker_class": "dmcommon.server.JsonErrorWorker",
            "threads": threads,
            "timeout": timeout,
            "post_worker_init": _worker_ready,
            "limit_request_line": LIMIT_REQUEST_LINE,
            "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
            "child_exit": _forget_worker_metrics,
            "on_exit": (lambda server: shutil.rmtree(metrics_dir, True)) if metrics_dir else None,
            "loglevel": log_level,
            "logger_class": gunicorn_logger(log_format),
            "accesslog": "-",
            "access_log_format": ACCESS_FORMAT,
            "errorlog": "-",
            "worker_tmp_dir": "/dev/shm" if _has_shm() else None,
            # Several services (and test runs) share one host: no shared control socket.
            "control_socket_disable": True,
        }
        _Gunicorn(lambda: factory(overrides), {k: v for k, v in options.items() if v}).run()

    params: list[click.Parameter] = [
        click.Option(["--host"], default="127.0.0.1", show_default=True, help="address to bind"),
        click.Option(["--port"], default=default_port, show_default=True, type=int),
        click.Option(["--workers"], default=2, show_default=True, type=int),
        click.Option(
            ["--threads"],
            default=8,
            show_default=True,
            type=int,
            help="request threads per worker process",
        ),
        click.Option(
            ["--timeout"],
            default=120,
            show_default=True,
            type=int,
            help="seconds before gunicorn restarts a silent worker",
        ),
        click.Option(["--log-level"], default="info", show_default=True),
    ]
    for setting in settings:
        is_flag = isinstance(setting.default, bool)
        params.append(
            click.Option(
                [setting.flag, setting.key.lower()],
                default=None,
                is_flag=is_flag,
                flag_value=True if is_flag else None,
                type=None if is_flag else (int if isinstance(setting.default, int) else str),
                help=f"{setting.help} [env {setting.env}]",
            )
        )
    return click.Command(name, callback=run, params=params, help=f"Run the DM {name} service.")


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, answering requests it cannot parse with the JSON error
    body of DESIGN §4 instead of an HTML page (414, 431 and 400)."""

    _STATUSES = (
        (errors.LimitRequestLine, 414, "URI Too Long", "the request line is too long"),
        (
            errors.LimitRequestHeaders,
            431,
            "Request Header Fields Too Large",
            "the request headers are too large or too many",
        ),
        (
            (
                errors.InvalidRequestLine,
                errors.InvalidRequestMethod,
                errors.InvalidHTTPVersion,
                errors.InvalidHeader,
                errors.InvalidHeaderName,
            ),
            400,
            "Bad Request",
            "the request is not valid HTTP/1.1",
        ),
    )

    def handle_error(self, req, client, addr, exc):
        response_fault = getattr(errors, "InvalidResponseHeader", ())
        for kinds, status, reason, message in self._STATUSES:
            if isinstance(exc, kinds) and not isinstance(exc, response_fault):
                self.log.warning("refused a request from %s: %s", (addr or ("",))[0], exc)
                body = json.dumps({"status": status, "message": message}).encode()
                head = (
                    f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                try:
                    util.write_nonblock(client, head.encode() + body)
                except OSError:
                    self.log.debug("could not send the error answer")
                return
        super().handle_error(req, client, addr, exc)


def _parsed(setting: Setting, value: Any) -> Any:
    """A flag's value read the way its DM_* variable would be."""
    if not isinstance(value, str):
        return value
    try:
        return setting.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=setting.flag) from None


def _metrics_directory(name: str) -> str | None:
    """Give the workers' metrics a directory of their own; return it when made here.

    A directory named by PROMETHEUS_MULTIPROC_DIR is used as it is (one per service, emptied
    between runs, as prometheus_client requires); else a new one is made and removed when
    the service stops.
    """
    if os.environ.get(MULTIPROCESS_DIR):
        return None
    path = tempfile.mkdtemp(prefix=f"dm-{name}-metrics-")
    os.environ[MULTIPROCESS_DIR] = path
    return path


def _forget_worker_metrics(server, worker) -> None:
    """Drop the live gauges of a worker that exited; its counts stay in the sums."""
    # Imported here: imported with this module, it would be before the directory is set.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# Collect cyclic garbage after this many new container objects rather than Python's
# 700: a request or operation over 1,000 resources makes hundreds of thousands, and
# each collection walks every object still alive.
GC_FIRST_THRESHOLD = 10_000


def _worker_ready(worker) -> None:
    """Once a worker process has built its app: set its garbage collector and start the
    app's background work."""
    # What exists now (modules, the app) lives as long as the process: no collection
    # needs to walk it again.
    gc.freeze()
    gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
    _start_background(worker)


def _start_background(worker) -> None:
    """Start the app's background work (e.g. the manager's operation runner) in each
    worker process once it is ready: threads do not survive gunicorn's fork."""
    extensions = getattr(worker.wsgi, "extensions", {})
    for start in extensions.get("dm.start", ()):
        start()


def _has_shm() -> bool:
    return os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)
