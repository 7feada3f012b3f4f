"""Docker backend: an image per version, the model service in a container (docker SDK).

Options:
- `base_image` (default `python:3.11-slim`): the image model images start from; it needs
  Python 3 with pip on PATH. `scripts/make-base-image` builds one from Debian packages for
  engines that reach no registry.
- `network` (default `host`): builds and containers share the host's network, so the service
  binds 127.0.0.1 on its port and needs no bridge (engines started with `--bridge=none` work).
- `pip_from_host` (default true): pip inside `docker build` does not see this host's pip
  configuration, so the index settings (`index-url`, `extra-index-url`, `trusted-host`,
  `timeout`, read at build time from `pip config list`; local `file:` indexes left out) are
  given to pip in a first build stage only: the model image copies the installed packages
  from it, so no pip.conf (and no index credential) stays in the image.
- `grace` (default 30): seconds a stopping container gets to drain before it is killed.
- `user` (default `10001:10001`), `memory` (`1g`), `cpus` (1.0), `pids` (256): containers run
  as this non-root user with no capabilities, no new privileges and these limits.

Supervision: once published, a container has the restart policy `on-failure` (5 retries) and
a health check (the model service's probe); the builder's supervisor gives a restarted
container the stable port again, and starts a new one when Docker gives up.

Images are `jupyter-deploy/<deployment>:v<version>`, dependency layer first (requirements.txt
and `pip install`), then the code: a code-only redeploy rebuilds one small layer. Containers
are labelled with the deployment and version; the stable URL switches as in the local
backend (SO_REUSEPORT in the shared network namespace, the new container gets SIGUSR1).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, ClassVar

from jupyter_deploy.builder.backends.base import Backend, LogFn, Version
from jupyter_deploy.builder.traffic import LOG_ENV, request_log_dir
from jupyter_deploy.errors import BackendUnavailable, BuildFailed, SplitUnsupported

DEFAULT_BASE = "python:3.11-slim"
LABEL = "jupyter-deploy.deployment"
CONTEXT_LABEL = "jupyter-deploy.context"
STATE_LABEL = "jupyter-deploy.state"
GRACE_SECONDS = 30

PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout")

DOCKERFILE = """\
FROM {base} AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONFIG_FILE=/build/pip.conf
COPY build/pip.conf /build/pip.conf
COPY model/requirements.txt /build/requirements.txt
RUN mkdir -p /opt/deps && python3 -m pip install --no-cache-dir --target /opt/deps \\
    -r /build/requirements.txt

FROM {base}
WORKDIR /srv/model
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=dependencies /opt/deps /opt/deps
COPY model/ /srv/model/
ENV PYTHONPATH=/srv/model:/opt/deps HOME=/tmp
USER {user}
ENTRYPOINT ["python3", "-m", "jupyter_deploy_runtime", "--bundle", "/srv/model"]
"""
"""Two stages: pip (with the host's index settings, credentials included) runs in the first;
the model image copies only the installed packages, so no pip.conf stays in it."""

USER = "10001:10001"
RESTART_POLICY = {"Name": "on-failure", "MaximumRetryCount": 5}


def image_tag(deployment: str, version: int) -> str:
    """The image of one version."""
    return f"jupyter-deploy/{deployment}:v{version}"


def host_pip_conf() -> str:
    """This host's pip index settings as a pip.conf for inside the build (no local paths)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except (OSError, subprocess.SubprocessError):
        return "[global]\n"
    settings: dict[str, str] = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        key = key.rpartition(".")[2]
        if key in PIP_KEYS:
            words = value.strip().strip("'\"").split()
            kept = [w for w in words if not w.startswith("file:") and not w.startswith("/")]
            if kept:
                settings["timeout" if key == "default-timeout" else key] = " ".join(kept)
    return "[global]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(settings.items()))


def build_context(
    bundle_dir: Path, base_image: str, pip_conf: str = "[global]\n", user: str = USER
) -> bytes:
    """A tar build context: Dockerfile, build/pip.conf and model/ (the bundle); deterministic,
    so unchanged layers come from the cache."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        files = sorted(p for p in bundle_dir.rglob("*") if p.is_file())
        entries = [
            ("Dockerfile", DOCKERFILE.format(base=base_image, user=user).encode()),
            ("build/pip.conf", pip_conf.encode()),
        ]
        entries += [
            ("model/" + p.relative_to(bundle_dir).as_posix(), p.read_bytes()) for p in files
        ]
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
        self._pip_conf: str | None = None
        self._terminated: set[str] = set()

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
        user = str(self.options.get("user", USER))
        context = build_context(version.bundle_dir, base, self.pip_conf(), user)
        digest = hashlib.sha256(context).hexdigest()
        version.handle["image"] = tag
        state = str(self.state_dir.resolve())
        built = self._image_labels(tag)
        if built.get(CONTEXT_LABEL) == digest and built.get(STATE_LABEL) == state:
            log(f"image {tag} already built from this bundle: reused")
            return
        log(f"building image {tag} from {base}")
        started = time.monotonic()
        labels = {
            LABEL: version.deployment,
            "jupyter-deploy.version": str(version.version),
            CONTEXT_LABEL: digest,
            STATE_LABEL: state,
        }
        try:
            stream = self.client.api.build(
                fileobj=io.BytesIO(context),
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                network_mode=self.options.get("network", "host"),
                labels=labels,
                decode=True,
            )
            cached = _follow_build(stream, log)
        except BuildFailed:
            raise
        except Exception as error:
            raise BuildFailed(f"docker build failed: {error}") from None
        log(f"image {tag} built in {time.monotonic() - started:.1f} s ({cached} cached steps)")

    def pip_conf(self) -> str:
        """The pip.conf the dependency layer installs with (this host's index settings)."""
        if self._pip_conf is None:
            use_host = self.options.get("pip_from_host", True) not in (False, "0", "false", "no")
            self._pip_conf = host_pip_conf() if use_host else "[global]\n"
        return self._pip_conf

    def _image_labels(self, tag: str) -> dict[str, str]:
        """The labels of an existing image (empty when there is none)."""
        try:
            image = self.client.images.get(tag)
        except Exception:
            return {}
        return dict((image.attrs.get("Config") or {}).get("Labels") or {})

    def start(self, version: Version, log: LogFn) -> None:
        """Run the image on the host network, serving the version's private port."""
        tag = version.handle.get("image") or image_tag(version.deployment, version.version)
        args = ["--host", "127.0.0.1", "--port", str(version.port)]
        args += ["--public-port", str(version.public_port)]
        requests_dir = request_log_dir(self.state_dir, version.deployment, version.version)
        requests_dir.mkdir(parents=True, exist_ok=True)
        _writable_by(requests_dir, str(self.options.get("user", USER)))
        container = self.client.containers.run(
            tag,
            command=args,
            detach=True,
            environment={**version.env, LOG_ENV: "/var/log/jupyter-deploy"},
            volumes={
                str(requests_dir.resolve()): {"bind": "/var/log/jupyter-deploy", "mode": "rw"}
            },
            name=f"jd-{version.deployment}-v{version.version}-{version.port}",
            network_mode=self.options.get("network", "host"),
            labels={
                LABEL: version.deployment,
                "jupyter-deploy.version": str(version.version),
                STATE_LABEL: str(self.state_dir.resolve()),
            },
            stop_signal="SIGTERM",
            healthcheck=_healthcheck(version.port),
            **self.limits(),
        )
        version.handle["container"] = container.id
        log(f"started container {container.short_id} on 127.0.0.1:{version.port}")

    def limits(self) -> dict[str, Any]:
        """Least privilege: a non-root user, no new privileges, no capabilities, and memory,
        CPU and process limits (options `user`, `memory`, `cpus`, `pids`)."""
        return {
            "user": str(self.options.get("user", USER)),
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "mem_limit": str(self.options.get("memory", "1g")),
            "nano_cpus": int(float(self.options.get("cpus", 1.0)) * 1e9),
            "pids_limit": int(self.options.get("pids", 256)),
        }

    def router_user(self) -> tuple[int, int] | None:
        """The containers' uid and gid (option `user`) when they are not the build service's:
        the router runs as them to share the stable port (docs/rollouts.md)."""
        uid, _, gid = str(self.options.get("user", USER)).partition(":")
        number = 0 if uid == "root" else int(uid)
        group = int(gid) if gid.isdigit() else number
        return None if (number, group) == (os.geteuid(), os.getegid()) else (number, group)

    def check_split(self, mode: str) -> None:
        """A split's router must run as the containers' user: their uid must be a number, and
        the build service must be root to start it as another user."""
        user = str(self.options.get("user", USER))
        uid, _, gid = user.partition(":")
        if not (uid.isdigit() or uid == "root") or not (gid == "" or gid.isdigit()):
            raise SplitUnsupported(
                f"A {mode} on the docker backend runs its router as the containers' user, so "
                f"that user must be numeric (uid:gid), not {user!r}: start the builder with "
                "-o user=UID:GID."
            )
        if self.router_user() is not None and os.geteuid() != 0:
            raise SplitUnsupported(
                f"A {mode} on the docker backend runs its router as the containers' user "
                f"({user}), because the router and the live version share the stable port "
                f"(SO_REUSEPORT works within one user), and only a build service running as root "
                f"can start it as another user; this one runs as uid {os.geteuid()}. Run the "
                f"builder as root, or its containers as its own user (-o user={os.geteuid()}), "
                "at the cost of that isolation."
            )

    def private_url(self, version: Version) -> str:
        """The container's own port (host network)."""
        return f"http://127.0.0.1:{version.port}"

    def stable_url(self, deployment: str, public_port: int) -> str:
        """The deployment's port on the host."""
        return f"http://127.0.0.1:{public_port}"

    def publish(self, version: Version, log: LogFn) -> None:
        """SIGUSR1 to the new container; wait until it listens on the stable port too. From
        then on Docker restarts it when it exits (the supervisor publishes it again)."""
        container = self._container(version)
        if container is None:
            raise BuildFailed(f"The container of version {version.version} is gone.")
        marker = f"public port {version.public_port} listening"
        before = container.logs().decode(errors="replace").count(marker)
        container.kill(signal="SIGUSR1")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if container.logs().decode(errors="replace").count(marker) > before:
                log(f"version {version.version} now also answers on port {version.public_port}")
                container.update(restart_policy=RESTART_POLICY)
                container.reload()
                version.handle["restarts"] = int(container.attrs.get("RestartCount") or 0)
                return
            time.sleep(0.05)
        raise BuildFailed(f"Version {version.version} did not open port {version.public_port}.")

    def revived(self, version: Version) -> bool:
        """Docker restarts (or restarted) the container since it was published."""
        container = self._container(version)
        if container is None or container.status not in ("running", "restarting"):
            return False
        restarts = int(container.attrs.get("RestartCount") or 0)
        return container.status == "restarting" or restarts > int(version.handle.get("restarts", 0))

    def begin_stop(self, version: Version) -> None:
        """SIGTERM to the container: it closes its listeners at once and drains."""
        container = self._container(version)
        if container is not None and container.status == "running":
            container.update(restart_policy={"Name": "no"})  # a stop is not a crash
            container.kill(signal="SIGTERM")
            self._terminated.add(container.id)

    def stop(self, version: Version, log: LogFn) -> None:
        """SIGTERM once (a second one would cut the drain short), wait up to the grace period,
        then kill and remove the container."""
        container = self._container(version)
        if container is None:
            return
        if container.status in ("running", "restarting"):
            container.update(restart_policy={"Name": "no"})  # a stop is not a crash
            if container.id not in self._terminated:
                container.kill(signal="SIGTERM")
            try:
                container.wait(timeout=float(self.options.get("grace", GRACE_SECONDS)))
            except Exception:  # the SDK raises the HTTP client's timeout
                log(f"version {version.version} did not stop in time: killed")
        container.remove(force=True)
        self._terminated.discard(container.id)
        log(f"version {version.version} stopped (container removed)")

    def is_running(self, version: Version) -> bool:
        """The version's container exists and runs."""
        container = self._container(version)
        return container is not None and container.status in ("running", "restarting")

    def service_logs(self, version: Version) -> str:
        """The container's last lines."""
        container = self._container(version)
        if container is None:
            return ""
        return str(container.logs(tail=40).decode(errors="replace"))

    def remove(self, deployment: str, log: LogFn) -> None:
        """Remove the deployment's containers and images made by this builder (its state)."""
        labels = [f"{LABEL}={deployment}", f"{STATE_LABEL}={self.state_dir.resolve()}"]
        for container in self.client.containers.list(all=True, filters={"label": labels}):
            container.remove(force=True)
        for image in self.client.images.list(filters={"label": labels}):
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


def _healthcheck(port: int) -> dict[str, Any]:
    """Docker's health check: the model service's own probe (ready and answering)."""
    return {
        "test": ["CMD", "python3", "-m", "jupyter_deploy_runtime.probe", "--port", str(port)],
        "interval": 10_000_000_000,
        "timeout": 30_000_000_000,
        "start_period": 30_000_000_000,
        "retries": 3,
    }


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


def _writable_by(folder: Path, user: str) -> None:
    """Let the container's user (uid[:gid]) write its request log into `folder`, and no one else."""
    uid, _, gid = user.partition(":")
    if uid.isdigit() and os.geteuid() == 0:
        os.chown(folder, int(uid), int(gid) if gid.isdigit() else int(uid))
        folder.chmod(0o700)
