"""Application factory of the manager service: wires the workflow's collaborators once."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask

from dmcommon.auth import require_bearer_token
from dmcommon.errors import DMError
from dmcommon.metrics import instrument
from dmcommon.openapi import serve_openapi
from dmcommon.request_ids import RequestIds
from dmcommon.web import register_error_handlers
from manager.clients import ExpanderClient, ResourcifierClient
from manager.config import load_config
from manager.locate import EXPANDER_SERVICE, RESOURCIFIER_SERVICE, ServiceLocator
from manager.metrics import TimedRepository
from manager.repository import open_repository
from manager.routes import bp
from manager.type_resolver import TypeResolver
from manager.ui_routes import bp as ui_bp
from manager.workflow import Runner, Services

log = logging.getLogger("manager")


def create_app(config: Mapping[str, Any] | None = None, services: Services | None = None) -> Flask:
    """Build the manager app; `config` overrides defaults and DM_* variables.

    `services` replaces the collaborators built from the settings (tests pass fakes);
    without a runner of their own they get this process's background Runner. The
    runner's threads start with the first operation, or from the server once a worker
    process is ready (`app.extensions["dm.start"]`): that is when operations whose owner
    died are resumed here.
    """
    app = Flask(__name__)
    app.config.update(load_config(config))
    app.wsgi_app = RequestIds(app.wsgi_app)
    instrument(app)
    # Types may be URLs (`/types/https://host/t.py/instances`): keep their double slashes.
    app.url_map.merge_slashes = False
    register_error_handlers(app)
    require_bearer_token(
        app, app.config["API_TOKEN"], exempt=("/healthz", "/readyz", "/metrics", "/ui", "/ui/")
    )
    if services is None:
        services = build_services(app.config)
    if services.runner is None:
        services.runner = Runner(
            services,
            app.config["OPERATION_WORKERS"],
            app.config["OPERATION_LEASE_SECONDS"],
            app.config["DRIFT_INTERVAL"],
        )
    app.extensions["dm"] = services
    start = getattr(services.runner, "start", None)
    app.extensions["dm.start"] = [start] if start else []
    app.register_blueprint(bp)
    app.register_blueprint(ui_bp)
    serve_openapi(app, "manager")
    return app


def build_services(config: Mapping[str, Any]) -> Services:
    """The real collaborators: the repository, the two service clients, the type resolver."""
    timeout = config["DOWNSTREAM_TIMEOUT"]
    token = config["INTERNAL_TOKEN"]
    expander = ServiceLocator(EXPANDER_SERVICE, config["EXPANDER_URL"])
    resourcifier = ServiceLocator(RESOURCIFIER_SERVICE, config["RESOURCIFIER_URL"])
    for locator in (expander, resourcifier):
        try:
            log.info("using the %s at %s", locator.service_name, locator.url())
        except DMError as error:
            log.error("%s; the manager is not ready until it is found", error.message)
    return Services(
        repository=TimedRepository(open_repository(config["DATABASE_URL"], config["DATA_DIR"])),
        expander=ExpanderClient(expander.url, timeout, token),
        resourcifier=ResourcifierClient(resourcifier.url, timeout, token),
        resolve_types=TypeResolver.from_config(config).resolve,
        default_namespace=config["DEFAULT_NAMESPACE"],
    )
