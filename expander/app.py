"""Application factory of the expander service."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from dmcommon.auth import require_bearer_token
from dmcommon.openapi import serve_openapi
from dmcommon.web import register_error_handlers
from expander.config import load_config
from expander.routes import bp
from expander.sandbox.client import Sandbox


def create_app(config: Mapping[str, Any] | None = None, sandbox: Sandbox | None = None) -> Flask:
    """Build the expander app; `config` overrides defaults and DM_* variables.

    `sandbox` runs the expansions (tests pass another one); by default a new one, whose
    fork server starts on the first request of the process that serves it.
    """
    app = Flask(__name__)
    app.config.update(load_config(config))
    register_error_handlers(app)
    # Probes carry no token.
    require_bearer_token(app, app.config["INTERNAL_TOKEN"], exempt=("/healthz", "/readyz"))
    app.extensions["expander"] = sandbox if sandbox is not None else Sandbox()
    app.register_blueprint(bp)
    serve_openapi(app, "expander")
    return app
