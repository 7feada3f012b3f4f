"""`deploy_function` and `deploy_tagged`: the two ways to deploy from a kernel.

Both end in the same compiler call and the same builder upload; the magics parse a line into
one of these calls. Errors are shown as one line on stderr (never a traceback) unless the
caller asks for the exception.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from jupyter_deploy.builder.client import URL_ENV, BuilderClient
from jupyter_deploy.errors import BuilderUnreachable, BuildFailed, DeployError, InvalidRequest
from jupyter_deploy.magics import flow, history
from jupyter_deploy.magics.progress import Progress, choose, failure_line
from jupyter_deploy.wire import Json, default_name


def current_shell() -> Any:
    """The running IPython shell, or a clear error outside IPython."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        shell = None
    else:
        shell = get_ipython()  # type: ignore[no-untyped-call]
    if shell is None:
        raise DeployError(
            "jupyter_deploy.deploy() runs in a notebook or IPython; from a script or a shell "
            "use `jupyter deploy push NOTEBOOK`."
        )
    return shell


def report(error: DeployError) -> None:
    """Show a domain error as one line on stderr."""
    print(f"Deploy failed: {error.message}", file=sys.stderr, flush=True)


def deploy_function(
    function: Callable[..., Any],
    name: str | None = None,
    *,
    batch: Callable[..., Any] | None = None,
    builder: str | None = None,
    token: str | None = None,
    wait: bool = True,
    progress: str | None = None,
    timeout: float = 900.0,
    raise_errors: bool = False,
    shell: Any = None,
    rollout: dict[str, Any] | None = None,
) -> Json | None:
    """Deploy a live function (no tags needed); the final Build, or None after an error."""
    try:
        shell = shell if shell is not None else current_shell()
        if not callable(function):
            raise InvalidRequest(f"{function!r} is not a function; pass the function itself.")
        session = flow.session_notebook(shell.user_ns)
        nb = history.notebook_for_function(shell, function, batch=batch)
        source = flow.session_relative(session) if session else "<kernel history>"
        deploy_name = name or default_name(session or str(getattr(function, "__name__", "model")))
        target = flow.Target(nb, source, flow.kernel_dir())
        return _deploy(
            target, deploy_name, shell.user_ns, builder, token, wait, progress, timeout, rollout
        )
    except DeployError as error:
        if raise_errors:
            raise
        report(error)
        return None


def deploy_tagged(
    notebook: str | None = None,
    name: str | None = None,
    *,
    builder: str | None = None,
    token: str | None = None,
    wait: bool = True,
    progress: str | None = None,
    timeout: float = 900.0,
    raise_errors: bool = False,
    shell: Any = None,
    rollout: dict[str, Any] | None = None,
) -> Json | None:
    """Deploy this kernel's notebook (its tagged cells) with values from this kernel."""
    try:
        shell = shell if shell is not None else current_shell()
        path = notebook or flow.session_notebook(shell.user_ns)
        if not path:
            raise DeployError(
                "This kernel does not know its notebook: pass --notebook PATH, or deploy a "
                "function by name (%deploy predict --name NAME)."
            )
        target = flow.notebook_target(path)
        deploy_name = name or default_name(path)
        return _deploy(
            target, deploy_name, shell.user_ns, builder, token, wait, progress, timeout, rollout
        )
    except DeployError as error:
        if raise_errors:
            raise
        report(error)
        return None


def _deploy(
    target: flow.Target,
    name: str,
    namespace: dict[str, Any],
    builder: str | None,
    token: str | None,
    wait: bool,
    progress_mode: str | None,
    timeout: float,
    rollout: dict[str, Any] | None = None,
) -> Json:
    client = BuilderClient.from_env(builder, token)
    if not client.health():
        raise BuilderUnreachable(
            f"The build service at {client.url} does not answer. Check that it runs and that "
            f"the URL is right (--builder URL or ${URL_ENV})."
        )
    bundle = flow.compile_bundle(target, name, namespace)
    for warning in getattr(bundle, "warnings", []):
        print(f"Deploy warning: {warning}", file=sys.stderr, flush=True)
    build: Json = client.create_build(name, bundle.tarball(), **(rollout or {}))
    if not wait:
        print(
            f"Build {build['id']} of {name} (version {build.get('version')}) is queued; "
            f"%deploy status {name} tells when it is live.",
            flush=True,
        )
        return build
    return follow_build(client, build, f"Deploying {name} to {client.url}", progress_mode, timeout)


def follow_build(
    client: BuilderClient, build: Json, title: str, progress_mode: str | None, timeout: float
) -> Json:
    """Show a build's progress until it is live; BuildFailed saying why if it fails."""
    progress: Progress = choose(progress_mode)
    progress.start(title)
    progress.phase(build)
    build = client.wait(
        str(build["id"]),
        on_change=progress.phase,
        on_log=progress.log,
        on_tick=progress.tick,
        timeout=timeout,
    )
    progress.done(build)
    if build.get("phase") != "live":
        raise BuildFailed(failure_line(build))
    return build
