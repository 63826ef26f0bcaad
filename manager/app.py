"""Application factory of the manager service."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from dmcommon.auth import require_bearer_token
from dmcommon.errors import register_error_handlers
from manager.config import load_config
from manager.routes import bp


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the manager app; `config` overrides defaults and DM_* variables."""
    app = Flask(__name__)
    app.config.update(load_config(config))
    register_error_handlers(app)
    require_bearer_token(app, app.config["API_TOKEN"])
    app.register_blueprint(bp)
    return app
