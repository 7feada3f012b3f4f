"""`jupyter deploy ...`: one thin door per subcommand, each in `jupyter_deploy/commands/`.

Each command module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
Domain errors are printed as one line on stderr with exit code 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from jupyter_deploy._version import __version__
from jupyter_deploy.errors import DeployError

COMMANDS: dict[str, str] = {
    "export": "jupyter_deploy.commands.export",
    "serve": "jupyter_deploy.commands.serve",
    "builder": "jupyter_deploy.commands.builder",
    "push": "jupyter_deploy.commands.client",
    "status": "jupyter_deploy.commands.client",
    "logs": "jupyter_deploy.commands.client",
    "test": "jupyter_deploy.commands.client",
    "rollback": "jupyter_deploy.commands.client",
    "delete": "jupyter_deploy.commands.client",
    "list": "jupyter_deploy.commands.client",
    "keys": "jupyter_deploy.commands.admin",
    "secrets": "jupyter_deploy.commands.admin",
    "audit": "jupyter_deploy.commands.admin",
    "promote": "jupyter_deploy.commands.rollout",
    "abort": "jupyter_deploy.commands.rollout",
    "split": "jupyter_deploy.commands.rollout",
    "traffic": "jupyter_deploy.commands.traffic",
}


def build_parser() -> argparse.ArgumentParser:
    """The `jupyter deploy` parser with every subcommand that is installed."""
    parser = argparse.ArgumentParser(
        prog="jupyter deploy", description="Turn a notebook's predict cell into a live API."
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        helps = getattr(module, "HELPS", None)
        command = sub.add_parser(name, help=helps[name] if helps else module.HELP)
        if helps:
            module.add_arguments(command, name)  # one module for several subcommands
        else:
            module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `jupyter-deploy` (and so of `jupyter deploy`)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
