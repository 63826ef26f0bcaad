"""Application factory of the resourcifier service."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from dmcommon.auth import require_bearer_token
from dmcommon.openapi import serve_openapi
from dmcommon.web import register_error_handlers
from resourcifier.backends.base import Backend
from resourcifier.config import load_config
from resourcifier.dispatch import Resourcifier
from resourcifier.routes import bp


def create_app(config: Mapping[str, Any] | None = None, backend: Backend | None = None) -> Flask:
    """Build the resourcifier app; `config` overrides defaults and DM_* variables.

    `backend` replaces the one the BACKEND setting names (tests pass their own).
    """
    app = Flask(__name__)
    app.config.update(load_config(config))
    register_error_handlers(app)
    # Probes carry no token: liveness and readiness stay open.
    require_bearer_token(app, app.config["INTERNAL_TOKEN"], exempt=("/healthz", "/readyz"))
    app.extensions["resourcifier"] = Resourcifier(
        backend or make_backend(app.config), app.config.get("NAMESPACE") or None
    )
    app.register_blueprint(bp)
    serve_openapi(app, "resourcifier")
    return app


def make_backend(config: Mapping[str, Any]) -> Backend:
    """The backend named by BACKEND: `kubectl` (a Kubernetes cluster) or `docker`."""
    name = config["BACKEND"]
    if name == "kubectl":
        from resourcifier.backends.kubectl.backend import KubectlBackend

        return KubectlBackend(config)
    if name == "docker":
        # Imported only when chosen: the Docker SDK is an optional dependency.
        from resourcifier.backends.docker.backend import DockerBackend

        return DockerBackend(config)
    raise ValueError(
        f"DM_RESOURCIFIER_BACKEND: unknown backend {name!r}; choose 'kubectl' or 'docker'"
    )
