"""What a pod reads from outside its image: volumes, and the values of ConfigMaps and Secrets.

ConfigMaps and Secrets live only in their records; pods read them when created (env,
envFrom, and volume files copied into the container before it starts, so the values
never sit in a docker volume). A PersistentVolumeClaim is a named volume
`dm.<ns>.claim.<name>`; an emptyDir is a volume of its pod, or a tmpfs in memory.
"""

from __future__ import annotations

import base64
import io
import tarfile
from typing import Any

import docker
from docker.types import Mount

from dmcommon.identity import ObjectKey
from resourcifier.backends.docker.engine import (
    POD,
    PREFIX,
    ROLE,
    ROLE_CLAIM,
    ROLE_VOLUME,
    Engine,
    explain,
    key_values,
    owner_labels,
)
from resourcifier.backends.docker.kinds import key_for
from resourcifier.backends.docker.records import Records
from resourcifier.backends.docker.spec import SpecError

# A claim with this annotation set to "true" keeps its volume when it is deleted.
KEEP_ANNOTATION = PREFIX + "keep-volume"

# What a pod's volume files are: volume name -> path in the volume -> (content, mode).
VolumeFiles = dict[str, dict[str, tuple[bytes, int]]]


def claim_volume(namespace: str, claim: str) -> str:
    """The docker volume that holds a PersistentVolumeClaim."""
    return f"dm.{namespace}.claim.{claim}"


class Files:
    """Finds the volumes a pod mounts and the values it reads from ConfigMaps and Secrets."""

    def __init__(self, engine: Engine, records: Records):
        self._engine = engine
        self._records = records

    def ensure_claim(self, key: ObjectKey, obj: dict[str, Any]) -> None:
        """Create the volume of a PersistentVolumeClaim unless it exists."""
        self._engine.ensure_volume(claim_volume(key.namespace, key.name),
                                   {**owner_labels(key, obj), ROLE: ROLE_CLAIM})

    def remove_claim(self, key: ObjectKey, record: dict[str, Any]) -> None:
        """Remove a deleted claim's volume, unless its record asks to keep it."""
        keep = (record["applied"]["metadata"].get("annotations") or {}).get(KEEP_ANNOTATION)
        if keep == "true":
            return
        try:
            self._engine.remove_volume(claim_volume(key.namespace, key.name))
        except docker.errors.APIError as error:
            raise SpecError(f"the claim's volume is still in use: {explain(error)}") from None

    def pod_volumes(
        self, key: ObjectKey, obj: dict[str, Any], pod: str, spec: dict[str, Any]
    ) -> tuple[dict[str, str | None], VolumeFiles]:
        """Per pod volume: the docker volume to mount (None: a tmpfs) or the files to copy in."""
        sources: dict[str, str | None] = {}
        files: VolumeFiles = {}
        for volume in spec.get("volumes") or []:
            name = volume["name"]
            if "emptyDir" in volume:
                if (volume["emptyDir"] or {}).get("medium") == "Memory":
                    sources[name] = None
                    continue
                sources[name] = f"dm.{key.namespace}.{pod}.{name}"
                self._engine.ensure_volume(sources[name], {**owner_labels(key, obj),
                                                           ROLE: ROLE_VOLUME, POD: pod})
            elif "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                if self._records.read(key_for("PersistentVolumeClaim", key.namespace,
                                              claim)) is None:
                    raise SpecError(f"persistentvolumeclaim {claim!r} not found")
                sources[name] = claim_volume(key.namespace, claim)
            else:
                files[name] = self._volume_files(key.namespace, volume)
        if key.kind == "StatefulSet":
            for claim in obj["spec"].get("volumeClaimTemplates") or []:
                name = claim["metadata"]["name"]
                sources[name] = claim_volume(key.namespace, f"{name}-{pod}")
                self._engine.ensure_volume(sources[name],
                                           {**owner_labels(key, obj), ROLE: ROLE_CLAIM})
        return sources, files

    def environment(self, namespace: str, pod: str, container: dict[str, Any]) -> list[str]:
        """The container's environment as `key=value` strings, its references resolved."""
        values: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            kind, ref = (("ConfigMap", source["configMapRef"]) if "configMapRef" in source
                         else ("Secret", source["secretRef"]))
            data = self._config_data(kind, namespace, ref["name"], bool(ref.get("optional")))
            for key, value in data.items():
                values[source.get("prefix", "") + key] = value.decode(errors="replace")
        for variable in container.get("env") or []:
            source = variable.get("valueFrom")
            if source is None:
                values[variable["name"]] = str(variable.get("value", ""))
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                values[variable["name"]] = pod if path == "metadata.name" else namespace
            else:
                kind, ref = (("ConfigMap", source["configMapKeyRef"]) if "configMapKeyRef" in source
                             else ("Secret", source["secretKeyRef"]))
                data = self._config_data(kind, namespace, ref["name"], bool(ref.get("optional")))
                if ref["key"] in data:
                    values[variable["name"]] = data[ref["key"]].decode(errors="replace")
                elif not ref.get("optional"):
                    raise SpecError(
                        f"key {ref['key']!r} not found in {kind.lower()} {ref['name']!r}"
                    )
        return key_values(values)

    def _volume_files(self, namespace: str, volume: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
        is_secret = "secret" in volume
        source = volume["secret" if is_secret else "configMap"]
        name = source["secretName" if is_secret else "name"]
        data = self._config_data("Secret" if is_secret else "ConfigMap", namespace, name,
                                 bool(source.get("optional")))
        mode = source.get("defaultMode", 0o644)
        if source.get("items"):
            chosen = {}
            for item in source["items"]:
                if item["key"] not in data:
                    raise SpecError(f"key {item['key']!r} not found in {name}")
                chosen[item["path"]] = (data[item["key"]], item.get("mode", mode))
            return chosen
        return {key: (value, mode) for key, value in data.items()}

    def _config_data(
        self, kind: str, namespace: str, name: str, optional: bool
    ) -> dict[str, bytes]:
        record = self._records.read(key_for(kind, namespace, name))
        if record is None:
            if optional:
                return {}
            raise SpecError(f"{kind.lower()} {name!r} not found in namespace {namespace!r}")
        applied = record["applied"]
        if kind == "Secret":
            data = {key: base64.b64decode(value) for key, value in
                    (applied.get("data") or {}).items()}
            data.update({key: value.encode() for key, value in
                         (applied.get("stringData") or {}).items()})
            return data
        return {key: value.encode() for key, value in (applied.get("data") or {}).items()}


def mount(volume_mount: dict[str, Any], source: str | None) -> Mount:
    """The engine's mount for a container's volumeMount (`source` None: a tmpfs)."""
    if source is None:
        return Mount(volume_mount["mountPath"], None, type="tmpfs")
    return Mount(volume_mount["mountPath"], source, type="volume",
                 read_only=bool(volume_mount.get("readOnly")))


def tar(directory: str, files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar archive of `files` under `directory` (folders included) to copy into a container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        base = directory.strip("/")
        folders = {base}
        for path in files:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folders.add("/".join([base, *parts[:depth]]))
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
