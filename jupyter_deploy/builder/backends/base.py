"""The one small interface every backend implements; the pipeline that calls it is written once.

The pipeline (jupyter_deploy/builder/pipeline.py) runs, for each new version:
    prepare -> start -> (wait for /readyz at private_url) -> (smoke test) -> publish -> stop(old)
and on builder start-up calls `is_running` on every version it believes live, restarting the
ones that are gone. Methods are synchronous; the pipeline runs them in worker threads.
Canary and shadow splits (builder/rollout.py) ask a backend whom the router runs as
(`router_user`) and what it refuses (`check_split`); a backend whose platform splits traffic
itself (`splits_itself`, Kubernetes) runs the split with `start_split`/`set_split`/`end_split`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

LogFn = Callable[[str], None]


@dataclass
class Version:
    """One version of one deployment, as a backend runs it."""

    deployment: str
    version: int
    bundle_dir: Path
    requirements_sha256: str
    port: int
    """Private port of this version (where the pipeline waits for /readyz and smoke-tests)."""
    public_port: int
    """Port of the deployment's stable URL; the same for every version of the deployment."""
    handle: dict[str, Any] = field(default_factory=dict)
    """Backend-specific identity (pid, container id, object names); persisted as JSON."""
    env: dict[str, str] = field(default_factory=dict, repr=False)
    """Environment of the model service (API keys, secrets); never persisted, never logged."""


class Backend(ABC):
    """Runs versions of deployments somewhere: a local process, a container, a cluster."""

    name: ClassVar[str]
    checks_itself: ClassVar[bool] = False
    """True when `start` itself waits for readiness and the smoke test (e.g. Kubernetes probes),
    so the pipeline does not reach the version over HTTP."""
    splits_itself: ClassVar[bool] = False
    """True when the platform splits a stable URL's traffic between two versions (a canary:
    `start_split`, `set_split`, `end_split`); False when the build service's router does
    (builder/rollout.py, docs/rollouts.md)."""

    def __init__(self, state_dir: Path, options: Mapping[str, Any] | None = None) -> None:
        self.state_dir = state_dir
        self.options = dict(options or {})

    @abstractmethod
    def prepare(self, version: Version, log: LogFn) -> None:
        """Make the environment the version runs in (virtualenv, image); reuse when unchanged."""

    @abstractmethod
    def start(self, version: Version, log: LogFn) -> None:
        """Start the model service on the version's private port; record its identity."""

    @abstractmethod
    def private_url(self, version: Version) -> str:
        """Where the pipeline reaches this version alone (readiness, smoke test)."""

    @abstractmethod
    def publish(self, version: Version, log: LogFn) -> None:
        """Make the stable URL serve this version (the old one keeps serving until stopped)."""

    @abstractmethod
    def stop(self, version: Version, log: LogFn) -> None:
        """Drain in-flight requests and stop the version; idempotent."""

    def begin_stop(self, version: Version) -> None:  # noqa: B027 - optional hook
        """Make the version stop accepting requests now, without waiting; `stop` finishes."""

    @abstractmethod
    def is_running(self, version: Version) -> bool:
        """True when the version still serves (used to re-adopt after a builder restart)."""

    @abstractmethod
    def stable_url(self, deployment: str, public_port: int) -> str:
        """The URL product engineers call; unchanged across versions."""

    def revived(self, version: Version) -> bool:
        """True when the platform restarted the version's process since it was published (it
        then serves its private port only; the supervisor publishes it again)."""
        return False

    def health(self, version: Version) -> tuple[str, str] | None:
        """For backends whose platform restarts processes itself (`checks_itself`): trouble
        it reports, as (`restarting` or `crashed`, what happened); None when all is well."""
        return None

    def service_logs(self, version: Version) -> str:
        """The model service's own output, for the build log on failure."""
        return ""

    def router_user(self) -> tuple[int, int] | None:
        """The (uid, gid) a split's router runs as to share the stable port with this backend's
        model services (SO_REUSEPORT works within one user); None: the build service's own."""
        return None

    def check_split(self, mode: str) -> None:  # noqa: B027 - optional hook
        """Refuse (InvalidRequest, naming what to do) a `canary` or `shadow` this backend cannot
        run, before anything is built."""

    def start_split(
        self, mode: str, percent: int, new: Version, old: Version | None, log: LogFn
    ) -> str:
        """(`splits_itself`) Start `new` beside `old`, which keeps serving, for about `percent` %
        of the stable URL's requests; wait until it is ready (its probes are the smoke test).
        `old` is None only in a dry run. What the split really is, as one line."""
        raise NotImplementedError(f"the {self.name} backend runs splits through the router")

    def set_split(self, percent: int, new: Version, old: Version, log: LogFn) -> str:
        """(`splits_itself`) Give `new` about `percent` % now; what the split is, as one line."""
        raise NotImplementedError(f"the {self.name} backend runs splits through the router")

    def end_split(self, new: Version, old: Version, promote: bool, log: LogFn) -> None:
        """(`splits_itself`) Promote: `new` serves every request. Abort: `old` serves every
        request and what ran `new` is removed."""
        raise NotImplementedError(f"the {self.name} backend runs splits through the router")

    def remove(self, deployment: str, log: LogFn) -> None:  # noqa: B027 - optional hook
        """Remove what the deployment left besides its versions (images, environments)."""
