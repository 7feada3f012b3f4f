"""`jupyter deploy push|status|logs|test|rollback|delete|list`: the build service from a terminal.

The builder is `--builder URL --token T`, or $JUPYTER_DEPLOY_BUILDER_URL and
$JUPYTER_DEPLOY_TOKEN. `push` compiles with the same compiler as every other door.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.client import BuilderClient, describe_invocation
from jupyter_deploy.commands.rollout import ROLLOUT_ARGUMENTS, rollout_options
from jupyter_deploy.errors import BuildFailed, InvalidRequest
from jupyter_deploy.magics.progress import TextProgress, failure_line

HELPS = {
    "push": "compile a notebook and deploy it (prints the live URL last)",
    "status": "a deployment's status and URL",
    "logs": "the log of a deployment's newest build (or of a build id)",
    "test": "send a JSON input (default: the example) to a deployment's live /predict",
    "rollback": "serve the previous (or a given) version again",
    "delete": "stop and remove a deployment",
    "list": "every deployment",
}


Argument = tuple[tuple[str, ...], dict[str, Any]]
NAME: Argument = (("name",), {})
WAIT: Argument = (("--wait",), {"action": "store_true", "help": "follow it until live or failed"})
ARGUMENTS: dict[str, list[Argument]] = {
    "push": [
        (("notebook",), {"type": Path}),
        (("--name",), {"help": "deployment name (default: from the notebook's name)"}),
        (("--execute",), {"action": "store_true", "help": "run it to capture computed values"}),
        WAIT,
        *ROLLOUT_ARGUMENTS,
    ],
    "status": [NAME],
    "logs": [
        (("name",), {"metavar": "NAME", "help": "a deployment (its newest build) or a build id"}),
        (("--follow", "-f"), {"action": "store_true", "help": "until the build ends"}),
    ],
    "test": [NAME, (("payload",), {"nargs": "?", "help": "JSON input (default: the example)"})],
    "rollback": [
        NAME,
        (("--version",), {"type": int, "help": "version to serve (default: the previous)"}),
        WAIT,
    ],
    "delete": [NAME],
    "list": [],
}
BUILDER: list[Argument] = [
    (("--builder",), {"help": "build service URL (default: $JUPYTER_DEPLOY_BUILDER_URL)"}),
    (("--token",), {"help": "build service token (default: $JUPYTER_DEPLOY_TOKEN)"}),
]


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The arguments of one subcommand, then --builder and --token."""
    for flags, options in [*ARGUMENTS[command], *BUILDER]:
        parser.add_argument(*flags, **options)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand."""
    client = BuilderClient.from_env(args.builder, args.token)
    command: Any = globals()[f"_{args.command}"]
    return int(command(client, args))


def _push(client: BuilderClient, args: argparse.Namespace) -> int:
    from jupyter_deploy.commands.export import build as compile_bundle

    notebook: Path = args.notebook
    print(f"compiling {notebook}" + (" (running it in a fresh kernel)" if args.execute else ""))
    bundle = compile_bundle(notebook, Path("."), args.name, args.execute, reuse=False)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    build = client.create_build(bundle.name, bundle.tarball(), **rollout_options(args))
    print(f"build {build['id']}: {bundle.name} version {build['version']} queued")
    if not args.wait:
        print(f"follow it with: jupyter deploy logs {bundle.name} --follow")
        return 0
    return _follow(client, build)


def _follow(client: BuilderClient, build: dict[str, Any]) -> int:
    progress = TextProgress(url_prefix="")  # the URL alone on the last line, for scripts
    progress.start(f"{build['name']} version {build['version']}")
    final = client.wait(str(build["id"]), on_change=progress.phase, on_log=progress.log)
    progress.done(final)
    if final["phase"] != "live":
        raise BuildFailed(failure_line(final, "jupyter deploy logs"))
    return 0


def _status(client: BuilderClient, args: argparse.Namespace) -> int:
    deployment = client.deployment(args.name)
    print(f"{deployment['name']}: {deployment['status']}, version {deployment['live_version']}")
    print(deployment["url"] or "(no live version)")
    return 0


def _logs(client: BuilderClient, args: argparse.Namespace) -> int:
    build_id = client.latest_build_id(args.name)
    if args.follow:
        client.wait(build_id, on_log=_write, timeout=24 * 3600)
    else:
        sys.stdout.write(client.logs(build_id).text)
    return 0


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _test(client: BuilderClient, args: argparse.Namespace) -> int:
    if args.payload:
        try:
            payload = json.loads(args.payload)
        except ValueError as exc:
            raise InvalidRequest(f"The input is not JSON ({exc.args[0]}): {args.payload}") from None
    else:
        payload = client.example(args.name)
    result = client.invoke(args.name, payload)
    print(describe_invocation(result))
    return 0 if int(result["status"]) < 400 else 1


def _rollback(client: BuilderClient, args: argparse.Namespace) -> int:
    build = client.rollback(args.name, args.version)
    print(f"rollback {build['id']}: {args.name} back to version {build['version']}")
    return _follow(client, build) if args.wait else 0


def _delete(client: BuilderClient, args: argparse.Namespace) -> int:
    client.delete(args.name)
    print(f"{args.name} deleted")
    return 0


def _list(client: BuilderClient, args: argparse.Namespace) -> int:
    for item in client.deployments():
        url = item["url"] or "-"
        print(f"{item['name']:<24} {item['status']:<9} v{item['live_version'] or '-':<4} {url}")
    return 0
