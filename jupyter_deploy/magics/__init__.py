"""`%deploy` magics and `jupyter_deploy.deploy()`: deploying from inside a kernel.

`%load_ext jupyter_deploy` calls `register`; `jupyter_deploy.deploy(fn, name=...)` calls
`deploy_function`. Both go through the compiler and `BuilderClient` like every other door.
"""

from __future__ import annotations

from typing import Any

from jupyter_deploy.magics.api import deploy_function, deploy_tagged

__all__ = ["deploy_function", "deploy_tagged", "register"]


def register(ipython: Any) -> None:
    """Register `%deploy` with an IPython shell."""
    from jupyter_deploy.magics.magic import DeployMagics

    ipython.register_magics(DeployMagics)
