"""GET /openapi/v2: the Swagger 2.0 document, as kubectl asks for it (protobuf) or as JSON.

It holds no definitions: kubectl's client-side validation skips the kinds a document does
not describe, and it only validates on the client what the server cannot (a `kind: List`
file, whose items kubectl sends one by one with `fieldValidation`, checked here)."""

from __future__ import annotations

PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What the API server answers with: the same type spelled as a valid media type.
PROTOBUF_V2_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
TITLE = "Kubernetes"


def v2_json(version: str) -> dict:
    return {"swagger": "2.0", "info": {"title": TITLE, "version": version}, "paths": {},
            "definitions": {}}


def v2_protobuf(version: str) -> bytes:
    """The same document as gnostic's openapi_v2.Document message: swagger (1), info (2:
    title 1, version 2), paths (8, empty)."""
    info = _string(1, TITLE) + _string(2, version)
    return _string(1, "2.0") + _message(2, info) + _message(8, b"")


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        encoded.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _message(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode())
