"""jupyter-deploy: from a notebook's `predict` cell to a live prediction API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_deploy._version import __version__

if TYPE_CHECKING:
    from jupyter_deploy.client import Model

__all__ = ["__version__", "compile_notebook", "connect", "deploy"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from jupyter_deploy.server.app import DeployExtension

    return [{"module": "jupyter_deploy", "app": DeployExtension}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-deploy"}]


def load_ipython_extension(ipython: Any) -> None:
    """Register the `%deploy` magics (`%load_ext jupyter_deploy`)."""
    from jupyter_deploy.magics import register

    register(ipython)


def deploy(function: Any, name: str | None = None, **options: Any) -> Any:
    """Deploy a live `predict` function from code; same path as `%deploy FUNCTION`."""
    from jupyter_deploy.magics import deploy_function

    return deploy_function(function, name=name, **options)


def connect(name: str, **options: Any) -> Model:
    """The live deployment `name` as a `Model`: `.predict(**inputs)`; see jupyter_deploy.client."""
    from jupyter_deploy.client import connect as connect_

    return connect_(name, **options)


def compile_notebook(nb: Any, **options: Any) -> Any:
    """Compile a notebook (or a path to one) into a Bundle; see `jupyter_deploy.compiler`."""
    from jupyter_deploy.compiler import compile_notebook as compile_

    return compile_(nb, **options)
