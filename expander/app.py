"""Application factory of the expander service."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from dmcommon.auth import require_bearer_token
from dmcommon.web import register_error_handlers
from expander.config import load_config
from expander.routes import bp


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the expander app; `config` overrides defaults and DM_* variables."""
    app = Flask(__name__)
    app.config.update(load_config(config))
    register_error_handlers(app)
    require_bearer_token(app, app.config["INTERNAL_TOKEN"])
    app.register_blueprint(bp)
    return app
