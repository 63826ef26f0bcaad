"""Settings of the resourcifier service."""

from __future__ import annotations

from typing import Any, Mapping

from dmcommon.settings import COMMON_SETTINGS, Setting, load_settings, parse_bool

SETTINGS = COMMON_SETTINGS + (
    Setting(
        "BACKEND",
        "DM_RESOURCIFIER_BACKEND",
        "kubectl",
        str,
        "backend: kubectl or docker",
        flag_name="--backend",
    ),
    Setting("KUBECTL", "DM_KUBECTL", "kubectl", str, "path of the kubectl binary"),
    Setting("KUBECONFIG", "DM_KUBECONFIG", None, str, "kubeconfig file"),
    Setting("CONTEXT", "DM_CONTEXT", None, str, "kubeconfig context"),
    Setting("SERVER", "DM_SERVER", None, str, "Kubernetes API server URL"),
    Setting("TOKEN", "DM_TOKEN", None, str, "bearer token for the API server"),
    Setting("CERTIFICATE_AUTHORITY", "DM_CERTIFICATE_AUTHORITY", None, str, "CA bundle file"),
    Setting("CLIENT_CERTIFICATE", "DM_CLIENT_CERTIFICATE", None, str, "client certificate file"),
    Setting("CLIENT_KEY", "DM_CLIENT_KEY", None, str, "client key file"),
    Setting(
        "INSECURE_SKIP_TLS_VERIFY",
        "DM_INSECURE_SKIP_TLS_VERIFY",
        False,
        parse_bool,
        "do not verify the API server's certificate",
    ),
    Setting("NAMESPACE", "DM_NAMESPACE", None, str, "default namespace"),
    Setting("KUBECTL_TIMEOUT", "DM_KUBECTL_TIMEOUT", 60, int, "seconds allowed per kubectl call"),
    Setting(
        "DOCKER_TIMEOUT", "DM_DOCKER_TIMEOUT", 60, int, "seconds allowed per Docker engine call"
    ),
)


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < DM_* environment < `overrides`."""
    return load_settings(SETTINGS, overrides)
