"""`GET /openapi.json`: each service serves its OpenAPI document from docs/openapi/.

The YAML files in docs/openapi/ are the source of truth; `dmcommon/api_documents` links
to that folder so that the documents travel with the installed package.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from flask import Flask, jsonify

from dmcommon.documents import load_yaml


@cache
def openapi_document(service: str) -> dict[str, Any]:
    """The OpenAPI document of `service` (`manager`, `expander`, `resourcifier`)."""
    folder = resources.files("dmcommon") / "api_documents"
    return load_yaml((folder / f"{service}.yaml").read_text(encoding="utf-8"))


def serve_openapi(app: Flask, service: str) -> None:
    """Add `GET /openapi.json` answering `service`'s document (open to every caller)."""
    document = openapi_document(service)
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(document), methods=["GET"])
