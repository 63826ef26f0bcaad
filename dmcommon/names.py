"""Kubernetes' name rules (RFC 1123 labels and subdomains), written once."""

from __future__ import annotations

import re

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

DNS_LABEL_RULE = (
    "at most 63 characters, lower-case letters, digits and '-', "
    "starting and ending with a letter or digit"
)


def is_dns_label(value: object) -> bool:
    """True for a DNS-1123 label: what Kubernetes accepts as a namespace name."""
    return (
        isinstance(value, str)
        and len(value) <= DNS_LABEL_MAX
        and _LABEL.fullmatch(value) is not None
    )


def is_dns_subdomain(value: object) -> bool:
    """True for a DNS-1123 subdomain: what Kubernetes accepts as most objects' names."""
    return (
        isinstance(value, str)
        and len(value) <= DNS_SUBDOMAIN_MAX
        and _SUBDOMAIN.fullmatch(value) is not None
    )


def dns_label_from(text: str) -> str:
    """A DNS-1123 label made from `text`: lower case, `-` for anything else, at most 63
    characters; empty when nothing usable is left."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    name = re.sub(r"-{2,}", "-", name).strip("-")
    return name[:DNS_LABEL_MAX].rstrip("-")
