"""Docker backend: an image per version, the model service in a container (docker SDK).

Options:
- `base_image` (default `python:3.11-slim`): the image model images start from; it needs
  Python 3 with pip on PATH. `scripts/make-base-image` builds one from Debian packages for
  engines that reach no registry.
- `network` (default `host`): containers share the host's network, so the service binds
  127.0.0.1 on its port and needs no bridge (engines started with `--bridge=none` work).

Images are `jupyter-deploy/<deployment>:v<version>`, dependency layer first (requirements.txt
and `pip install`), then the code: a code-only redeploy rebuilds one small layer. Containers
are labelled with the deployment and version; the stable URL switches as in the local
backend (SO_REUSEPORT in the shared network namespace, the new container gets SIGUSR1).
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any, ClassVar

from jupyter_deploy.builder.backends.base import Backend, LogFn, Version
from jupyter_deploy.errors import BackendUnavailable, BuildFailed

DEFAULT_BASE = "python:3.11-slim"
LABEL = "jupyter-deploy.deployment"
GRACE_SECONDS = 30

DOCKERFILE = """\
FROM {base}
WORKDIR /srv/model
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /srv/model/requirements.txt
RUN python3 -m pip install --no-cache-dir -r requirements.txt
COPY . /srv/model
ENV PYTHONPATH=/srv/model
ENTRYPOINT ["python3", "-m", "jupyter_deploy_runtime", "--bundle", "/srv/model"]
"""


def image_tag(deployment: str, version: int) -> str:
    """The image of one version."""
    return f"jupyter-deploy/{deployment}:v{version}"


def build_context(bundle_dir: Path, base_image: str) -> bytes:
    """A tar build context: the bundle plus the Dockerfile (deterministic, so layers cache)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        files = sorted(p for p in bundle_dir.rglob("*") if p.is_file())
        entries = [("Dockerfile", DOCKERFILE.format(base=base_image).encode())]
        entries += [(p.relative_to(bundle_dir).as_posix(), p.read_bytes()) for p in files]
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


class DockerBackend(Backend):
    """Versions as containers on the host network."""

    name: ClassVar[str] = "docker"

    def __init__(self, state_dir: Path, options: Any = None) -> None:
        super().__init__(state_dir, options)
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The docker SDK client (from the environment: DOCKER_HOST or the local socket)."""
        if self._client is None:
            try:
                import docker

                self._client = docker.from_env()
                self._client.ping()
            except Exception as error:  # the SDK raises many kinds
                raise BackendUnavailable(
                    f"No Docker engine answers ({type(error).__name__}): start dockerd "
                    "(scripts/dockerd-up) or set DOCKER_HOST."
                ) from None
        return self._client

    def prepare(self, version: Version, log: LogFn) -> None:
        """Build the version's image, reusing cached layers (dependencies before code)."""
        base = str(self.options.get("base_image") or DEFAULT_BASE)
        tag = image_tag(version.deployment, version.version)
        log(f"building image {tag} from {base}")
        started = time.monotonic()
        context = build_context(version.bundle_dir, base)
        try:
            stream = self.client.api.build(
                fileobj=io.BytesIO(context),
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                network_mode=self.options.get("network", "host"),
                labels={LABEL: version.deployment, "jupyter-deploy.version": str(version.version)},
                decode=True,
            )
            cached = _follow_build(stream, log)
        except BuildFailed:
            raise
        except Exception as error:
            raise BuildFailed(f"docker build failed: {error}") from None
        version.handle["image"] = tag
        log(f"image {tag} built in {time.monotonic() - started:.1f} s ({cached} cached steps)")

    def start(self, version: Version, log: LogFn) -> None:
        """Run the image on the host network, serving the version's private port."""
        tag = version.handle.get("image") or image_tag(version.deployment, version.version)
        args = ["--host", "127.0.0.1", "--port", str(version.port)]
        args += ["--public-port", str(version.public_port)]
        container = self.client.containers.run(
            tag,
            command=args,
            detach=True,
            name=f"jd-{version.deployment}-v{version.version}-{version.port}",
            network_mode=self.options.get("network", "host"),
            labels={LABEL: version.deployment, "jupyter-deploy.version": str(version.version)},
            stop_signal="SIGTERM",
        )
        version.handle["container"] = container.id
        log(f"started container {container.short_id} on 127.0.0.1:{version.port}")

    def private_url(self, version: Version) -> str:
        """The container's own port (host network)."""
        return f"http://127.0.0.1:{version.port}"

    def stable_url(self, deployment: str, public_port: int) -> str:
        """The deployment's port on the host."""
        return f"http://127.0.0.1:{public_port}"

    def publish(self, version: Version, log: LogFn) -> None:
        """SIGUSR1 to the new container; wait until it listens on the stable port too."""
        container = self._container(version)
        if container is None:
            raise BuildFailed(f"The container of version {version.version} is gone.")
        marker = f"public port {version.public_port} listening"
        container.kill(signal="SIGUSR1")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if marker in container.logs().decode(errors="replace"):
                log(f"version {version.version} now also answers on port {version.public_port}")
                return
            time.sleep(0.05)
        raise BuildFailed(f"Version {version.version} did not open port {version.public_port}.")

    def begin_stop(self, version: Version) -> None:
        """SIGTERM to the container: it closes its listeners at once and drains."""
        container = self._container(version)
        if container is not None and container.status == "running":
            container.kill(signal="SIGTERM")

    def stop(self, version: Version, log: LogFn) -> None:
        """SIGTERM (in-flight requests finish), then remove the container."""
        container = self._container(version)
        if container is None:
            return
        container.stop(timeout=int(self.options.get("grace", GRACE_SECONDS)))
        container.remove(force=True)
        log(f"version {version.version} stopped (container removed)")

    def is_running(self, version: Version) -> bool:
        """The version's container exists and runs."""
        container = self._container(version)
        return container is not None and container.status == "running"

    def service_logs(self, version: Version) -> str:
        """The container's last lines."""
        container = self._container(version)
        if container is None:
            return ""
        return str(container.logs(tail=40).decode(errors="replace"))

    def remove(self, deployment: str, log: LogFn) -> None:
        """Remove the deployment's images."""
        for image in self.client.images.list(filters={"label": f"{LABEL}={deployment}"}):
            for tag in image.tags or [image.id]:
                try:
                    self.client.images.remove(tag, force=True)
                except Exception:
                    continue
        log(f"images of {deployment} removed")

    def _container(self, version: Version) -> Any:
        container_id = version.handle.get("container")
        if not container_id:
            return None
        try:
            return self.client.containers.get(container_id)
        except Exception:
            return None


def _follow_build(stream: Any, log: LogFn) -> int:
    """Log the build's output; the number of cached steps. BuildFailed on an error line."""
    cached = 0
    for chunk in stream:
        if "error" in chunk:
            raise BuildFailed(f"docker build failed: {str(chunk['error']).strip()}")
        line = str(chunk.get("stream", "")).rstrip()
        if line:
            cached += line.strip() == "---> Using cache"
            log(line)
    return cached
