"""Push synthetic images to a test registry without Docker.

An image here is real OCI content: a one-file gzip tar layer, a config blob with the chosen
``created`` time and labels, and a manifest (OCI or Docker v2); a multi-arch image is an index
(or Docker manifest list) over one manifest per platform. Tags can be deleted or re-pointed.

This is test tooling, not conveyor's registry adapter: it speaks just enough of the auth
challenge (basic and Bearer) to push.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field

import httpx

from conveyor.testing.registry import RegistryEndpoint

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ALL_MANIFESTS = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _layer(content: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = content.encode()
        info = tarfile.TarInfo("conveyor-test.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class ImagePusher:
    """Pushes, lists, re-points and deletes images on one test registry."""

    endpoint: RegistryEndpoint
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))
    _tokens: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.client.close()

    # -- auth ---------------------------------------------------------------------------------

    def _auth_headers(self, repo: str) -> dict[str, str]:
        token = self._tokens.get(repo)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _fetch_token(self, repo: str) -> None:
        auth = (self.endpoint.user, self.endpoint.password) if self.endpoint.user else None
        response = self.client.get(
            self.endpoint.token_realm,
            params={
                "service": "conveyor-test-registry",
                "scope": f"repository:{repo}:pull,push,delete",
            },
            auth=auth,
        )
        response.raise_for_status()
        self._tokens[repo] = response.json()["token"]

    def request(self, method: str, repo: str, path: str, **kwargs: object) -> httpx.Response:
        """A request to ``/v2/<repo>/<path>`` (or an absolute URL), answering one auth challenge."""
        url = path if path.startswith("http") else f"{self.endpoint.url}/v2/{repo}/{path}"
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        basic = (self.endpoint.user, self.endpoint.password) if self.endpoint.user else None
        use_basic = basic if not self.endpoint.token_realm else None
        response = self.client.request(
            method,
            url,
            headers={**headers, **self._auth_headers(repo)},
            auth=use_basic,
            **kwargs,  # type: ignore[arg-type]
        )
        if response.status_code == 401 and self.endpoint.token_realm:
            self._fetch_token(repo)
            response = self.client.request(
                method,
                url,
                headers={**headers, **self._auth_headers(repo)},
                **kwargs,  # type: ignore[arg-type]
            )
        return response

    # -- blobs and manifests ------------------------------------------------------------------

    def put_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        if self.request("HEAD", repo, f"blobs/{digest}").status_code == 200:
            return digest
        started = self.request("POST", repo, "blobs/uploads/")
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.endpoint.url + location
        sep = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            repo,
            f"{location}{sep}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        done.raise_for_status()
        return digest

    def put_manifest(self, repo: str, reference: str, manifest: dict[str, object]) -> str:
        body = _canonical(manifest)
        media_type = str(manifest["mediaType"])
        response = self.request(
            "PUT",
            repo,
            f"manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
        )
        response.raise_for_status()
        return digest_of(body)

    def _image_manifest(
        self,
        repo: str,
        *,
        created: dt.datetime,
        labels: dict[str, str],
        architecture: str,
        docker: bool,
        content: str,
    ) -> dict[str, object]:
        config = {
            "architecture": architecture,
            "os": "linux",
            "created": _rfc3339(created),
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [{"created": _rfc3339(created), "comment": "conveyor test image"}],
        }
        layer = _layer(content)
        config["rootfs"] = {"type": "layers", "diff_ids": [digest_of(gzip.decompress(layer))]}
        config_bytes = _canonical(config)
        config_digest = self.put_blob(repo, config_bytes)
        layer_digest = self.put_blob(repo, layer)
        return {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": config_digest,
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }

    def push_image(
        self,
        repo: str,
        tag: str,
        *,
        created: dt.datetime | None = None,
        labels: dict[str, str] | None = None,
        architecture: str = "amd64",
        docker: bool = False,
    ) -> str:
        """Push a single-platform image; returns its manifest digest."""
        manifest = self._image_manifest(
            repo,
            created=created or dt.datetime.now(dt.UTC),
            labels=labels or {},
            architecture=architecture,
            docker=docker,
            content=f"{repo}:{tag}:{architecture}",
        )
        return self.put_manifest(repo, tag, manifest)

    def push_index(
        self,
        repo: str,
        tag: str,
        *,
        architectures: tuple[str, ...] = ("amd64", "arm64"),
        created: dt.datetime | None = None,
        labels: dict[str, str] | None = None,
        docker: bool = False,
    ) -> str:
        """Push a multi-arch image (OCI index or Docker manifest list); returns the index digest."""
        entries: list[dict[str, object]] = []
        for arch in architectures:
            manifest = self._image_manifest(
                repo,
                created=created or dt.datetime.now(dt.UTC),
                labels=labels or {},
                architecture=arch,
                docker=docker,
                content=f"{repo}:{tag}:{arch}",
            )
            body = _canonical(manifest)
            digest = self.put_manifest(repo, digest_of(body), manifest)
            entries.append(
                {
                    "mediaType": manifest["mediaType"],
                    "digest": digest,
                    "size": len(body),
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        index = {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST if docker else OCI_INDEX,
            "manifests": entries,
        }
        return self.put_manifest(repo, tag, index)

    # -- reading, re-pointing, deleting ---------------------------------------------------------

    def tags(self, repo: str) -> list[str]:
        response = self.request("GET", repo, "tags/list")
        response.raise_for_status()
        return list(response.json().get("tags") or [])

    def manifest(self, repo: str, reference: str) -> tuple[str, dict[str, object]]:
        """(digest, manifest) of a tag or digest."""
        response = self.request(
            "GET", repo, f"manifests/{reference}", headers={"Accept": ALL_MANIFESTS}
        )
        response.raise_for_status()
        return digest_of(response.content), response.json()

    def config(self, repo: str, reference: str) -> dict[str, object]:
        """The config blob of a single-platform image."""
        _, manifest = self.manifest(repo, reference)
        config_ref = manifest["config"]
        assert isinstance(config_ref, dict)
        response = self.request("GET", repo, f"blobs/{config_ref['digest']}")
        response.raise_for_status()
        config: dict[str, object] = response.json()
        return config

    def retag(self, repo: str, source: str, tag: str) -> str:
        """Point ``tag`` at the manifest ``source`` (a tag or digest) names."""
        _, manifest = self.manifest(repo, source)
        return self.put_manifest(repo, tag, manifest)

    def delete(self, repo: str, reference: str) -> None:
        """Delete the manifest a tag or digest names (and so every tag that points at it)."""
        digest = reference if reference.startswith("sha256:") else self.manifest(repo, reference)[0]
        response = self.request("DELETE", repo, f"manifests/{digest}")
        response.raise_for_status()
