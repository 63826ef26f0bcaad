"""deploy/Dockerfile, its context and its pins, as read (tests/deploy/test_compose_stack.py
builds and runs the image)."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.compose import ROOT

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def requirement_name(spec: str) -> str:
    return re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_base_is_the_slim_python_image_unless_given():
    assert DOCKERFILE.count("ARG BASE=python:3.11-slim\n") == 1
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M) == ["${BASE}", "${BASE}"]


def test_the_build_fetches_nothing_and_checks_kubectl():
    assert not re.search(r"curl|wget|https?://", DOCKERFILE)
    assert re.search(r"^ARG KUBECTL_SHA256=[0-9a-f]{64}$", DOCKERFILE, flags=re.M)
    assert 'echo "${KUBECTL_SHA256}  /usr/local/bin/kubectl" | sha256sum -c' in DOCKERFILE
    assert "--no-index" in DOCKERFILE


def test_the_services_run_as_a_fixed_non_root_user():
    assert re.findall(r"^USER (.+)$", DOCKERFILE, flags=re.M) == ["10001:10001"]


def test_every_runtime_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {requirement_name(spec)
              for spec in project["dependencies"] + extras["postgres"] + extras["docker"]}
    lines = [line for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9][0-9a-z.]*", line) for line in lines), lines
    assert wanted <= {line.split("==")[0] for line in lines}


def test_only_the_staged_build_directory_is_sent_to_the_engine():
    patterns = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line and not line.startswith("#")]
    assert patterns == ["*", "!build/docker/"]
