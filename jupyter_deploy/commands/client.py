"""`jupyter deploy push|status|logs|rollback|delete|list`: the build service from a terminal.

The builder is `--builder URL --token T`, or $JUPYTER_DEPLOY_BUILDER_URL and
$JUPYTER_DEPLOY_TOKEN. `push` compiles with the same compiler as every other door.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.errors import BuildFailed

HELPS = {
    "push": "compile a notebook and deploy it (prints the live URL last)",
    "status": "a deployment's status and URL",
    "logs": "a build's log",
    "rollback": "serve the previous (or a given) version again",
    "delete": "stop and remove a deployment",
    "list": "every deployment",
}


def _builder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--builder", help="build service URL (default: $JUPYTER_DEPLOY_BUILDER_URL)"
    )
    parser.add_argument("--token", help="build service token (default: $JUPYTER_DEPLOY_TOKEN)")


def add_push_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `push`."""
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--name", help="deployment name (default: from the notebook's name)")
    parser.add_argument("--execute", action="store_true", help="run it to capture computed values")
    parser.add_argument("--wait", action="store_true", help="follow the build until live or failed")
    _builder_arguments(parser)


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `status`."""
    parser.add_argument("name")
    _builder_arguments(parser)


def add_logs_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `logs`."""
    parser.add_argument("build_id")
    parser.add_argument("--follow", "-f", action="store_true", help="until the build ends")
    _builder_arguments(parser)


def add_rollback_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `rollback`."""
    parser.add_argument("name")
    parser.add_argument("--version", type=int, help="version to serve (default: the previous)")
    parser.add_argument("--wait", action="store_true", help="follow the rollback until it ends")
    _builder_arguments(parser)


def add_delete_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `delete`."""
    parser.add_argument("name")
    _builder_arguments(parser)


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `list`."""
    _builder_arguments(parser)


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
    build = client.create_build(bundle.name, bundle.tarball())
    print(f"build {build['id']}: {bundle.name} version {build['version']} queued")
    if not args.wait:
        print(f"follow it with: jupyter deploy logs {build['id']} --follow")
        return 0
    return _follow(client, build)


def _follow(client: BuilderClient, build: dict[str, Any]) -> int:
    printed: set[str] = set()

    def phase(current: dict[str, Any]) -> None:
        phases = [str(p["phase"]) for p in current.get("phases") or []]
        for name in [*phases, str(current["phase"])]:
            if name not in printed:
                printed.add(name)
                print(f"  phase: {name}", flush=True)

    def log(text: str) -> None:
        sys.stdout.write("".join(f"    {line}\n" for line in text.splitlines()))

    final = client.wait(str(build["id"]), on_change=phase, on_log=log)
    if final["phase"] != "live":
        error = final.get("error") or {}
        raise BuildFailed(
            f"{final['name']} failed while {error.get('phase')}: {error.get('message')}"
        )
    print(final["url"])
    return 0


def _status(client: BuilderClient, args: argparse.Namespace) -> int:
    deployment = client.deployment(args.name)
    print(f"{deployment['name']}: {deployment['status']}, version {deployment['live_version']}")
    print(deployment["url"] or "(no live version)")
    return 0


def _logs(client: BuilderClient, args: argparse.Namespace) -> int:
    if args.follow:
        for text in client.follow_logs(args.build_id):
            sys.stdout.write(text)
    else:
        sys.stdout.write(client.logs(args.build_id).text)
    return 0


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
