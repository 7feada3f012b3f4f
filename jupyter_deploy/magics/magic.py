"""`%deploy`: one line magic with subcommands, parsed with argparse into calls of the API."""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from IPython.core.magic import Magics, line_magic, magics_class

from jupyter_deploy.commands.rollout import HELPS as ROLLOUT_HELPS
from jupyter_deploy.commands.rollout import ROLLOUT_ARGUMENTS, rollout_options
from jupyter_deploy.errors import DeployError, InvalidRequest
from jupyter_deploy.magics import api, commands, watching

ROLLOUT_COMMANDS = tuple(ROLLOUT_HELPS)
USAGE = """\
%deploy [FUNCTION] [--name NAME] [--builder URL] [--token T] [--no-wait] [--notebook PATH]
        [--canary PERCENT | --shadow PERCENT] [--max-error-rate R] [--max-p95-ms MS]
%deploy status [NAME] | logs [NAME] | test NAME [JSON] | list | rollback NAME | delete NAME
%deploy split NAME | promote NAME | abort NAME
%deploy traffic NAME [--limit N] | compare NAME [--last N]"""
SUBCOMMANDS = (
    "status",
    "logs",
    "test",
    "list",
    "rollback",
    "delete",
    *ROLLOUT_COMMANDS,
    *watching.COMMANDS,
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises a domain error instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise InvalidRequest(f"{message} (see %deploy --help).")


def _parser(command: str | None) -> _Parser:
    parser = _Parser(prog=f"%deploy {command or ''}".strip(), usage=USAGE, add_help=False)
    parser.add_argument("--builder", default=None, help="build service URL")
    parser.add_argument("--token", default=None, help="build service token")
    if command is None:
        parser.add_argument("function", nargs="?", default=None)
        parser.add_argument("--name", default=None)
        parser.add_argument("--notebook", default=None)
        parser.add_argument("--batch", default=None, help="the predict_batch function")
        parser.add_argument("--no-wait", dest="wait", action="store_false")
        parser.add_argument("--progress", choices=("auto", "widget", "text"), default=None)
        for flags, options in ROLLOUT_ARGUMENTS:
            parser.add_argument(*flags, **options)
    elif command in ("status", "logs"):
        parser.add_argument("name", nargs="?", default=None)
    elif command == "test":
        parser.add_argument("name")
        parser.add_argument("payload", nargs="*")
    elif command == "traffic":
        parser.add_argument("name")
        parser.add_argument("--limit", type=int, default=10, help="requests shown")
    elif command == "compare":
        parser.add_argument("name")
        parser.add_argument("--last", type=int, default=100, help="logged answers compared")
    elif command in ("rollback", "delete", *ROLLOUT_COMMANDS):
        parser.add_argument("name")
        if command == "rollback":
            parser.add_argument("--version", type=int, default=None)
            parser.add_argument("--no-wait", dest="wait", action="store_false")
    return parser


def run_line(shell: Any, line: str) -> None:
    """Run one `%deploy` line; a domain error prints as one line, never a traceback."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        api.report(InvalidRequest(f"cannot read the line ({exc}); see %deploy --help."))
        return
    if words and words[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command = words[0] if words and words[0] in SUBCOMMANDS else None
    args_words = words[1:] if command else words
    try:
        args = _parser(command).parse_args(args_words)
        if command is None:
            _deploy(shell, args)
        elif command in watching.COMMANDS:
            watching.run(shell, command, args)
        else:
            commands.run(shell, command, args)
    except DeployError as error:
        api.report(error)


def _deploy(shell: Any, args: argparse.Namespace) -> None:
    options: dict[str, Any] = {
        "builder": args.builder,
        "token": args.token,
        "wait": args.wait,
        "progress": args.progress,
        "raise_errors": True,
        "shell": shell,
        "rollout": rollout_options(args),
    }
    if args.function is None:
        api.deploy_tagged(args.notebook, args.name, **options)
        return
    function = _lookup(shell, args.function)
    batch = _lookup(shell, args.batch) if args.batch else None
    api.deploy_function(function, args.name, batch=batch, **options)


def _lookup(shell: Any, name: str) -> Any:
    if not name.isidentifier():
        raise InvalidRequest(f"{name!r} is not a function name.")
    if name not in shell.user_ns:
        raise InvalidRequest(
            f"There is no function {name} in this notebook: run the cell that defines it "
            "(or check the spelling)."
        )
    value = shell.user_ns[name]
    if not callable(value):
        raise InvalidRequest(f"{name} is a {type(value).__name__}, not a function.")
    return value


@magics_class
class DeployMagics(Magics):
    """The `%deploy` magic."""

    @line_magic
    def deploy(self, line: str) -> None:
        """Deploy a predict function or this notebook; status, logs, test, list, rollback, delete.

        %deploy [FUNCTION] [--name NAME] [--builder URL] [--token T] [--no-wait] [--notebook PATH]
        %deploy status [NAME] | logs [NAME] | test NAME [JSON] | list | rollback NAME | delete NAME
        %deploy traffic NAME [--limit N] | compare NAME [--last N]
        """
        run_line(self.shell, line)
