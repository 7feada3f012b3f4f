"""`jupyter deploy keys|secrets|audit`: what DevOps manages on the build service.

`keys create NAME` prints the new key once; `secrets set NAME KEY` reads the value from stdin
(never from the command line, so it stays out of shell history and process lists). Each change
restarts the deployment's live version, without a rebuild.
"""

from __future__ import annotations

import argparse
import sys

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.commands.client import BUILDER, Argument
from jupyter_deploy.errors import DeployError

HELPS = {
    "keys": "a deployment's API keys: create (shown once), list (masked), revoke",
    "secrets": "a deployment's secrets (environment variables): set from stdin, list, unset",
    "audit": "who changed what on the build service",
}


ARGUMENTS: dict[str, list[Argument]] = {
    "keys": [
        (("action",), {"choices": ["create", "list", "revoke"]}),
        (("name",), {"help": "deployment"}),
        (("key_id",), {"nargs": "?", "help": "revoke: the key's id (from `keys list`)"}),
        (("--label",), {"default": "", "help": "create: what the key is for"}),
    ],
    "secrets": [
        (("action",), {"choices": ["set", "list", "unset"]}),
        (("name",), {"help": "deployment"}),
        (("key",), {"nargs": "?", "help": "set/unset: the variable's name, e.g. DB_PASSWORD"}),
    ],
    "audit": [
        (("name",), {"nargs": "?", "help": "only this deployment"}),
        (("--limit",), {"type": int, "default": 100, "help": "latest entries (default 100)"}),
    ],
}


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The arguments of one subcommand, then --builder and --token."""
    for flags, options in [*ARGUMENTS[command], *BUILDER]:
        parser.add_argument(*flags, **options)


def run(args: argparse.Namespace) -> int:
    """Run `keys`, `secrets` or `audit`."""
    client = BuilderClient.from_env(args.builder, args.token)
    if args.command == "keys":
        return _keys(client, args)
    if args.command == "secrets":
        return _secrets(client, args)
    for entry in client.audit(args.name, args.limit):
        version = f" v{entry['version']}" if entry["version"] is not None else ""
        detail = f" ({entry['detail']})" if entry["detail"] else ""
        print(
            f"{entry['at']}  {entry['token']}  {entry['action']}  {entry['deployment']}"
            f"{version}{detail}"
        )
    return 0


def _keys(client: BuilderClient, args: argparse.Namespace) -> int:
    if args.action == "create":
        key = client.create_key(args.name, args.label)
        print(f"key {key['id']} for {args.name} (shown once, keep it safe):", file=sys.stderr)
        print(key["key"])
    elif args.action == "list":
        for key in client.keys(args.name):
            print(f"{key['id']}  {key['masked']}  {key['created_at']}  {key['label']}")
    else:
        if not args.key_id:
            raise DeployError("keys revoke NAME KEY_ID: give the key's id (see `keys list NAME`).")
        client.revoke_key(args.name, args.key_id)
        print(f"key {args.key_id} of {args.name} revoked", file=sys.stderr)
    return 0


def _secrets(client: BuilderClient, args: argparse.Namespace) -> int:
    if args.action == "list":
        for secret in client.secrets(args.name):
            print(f"{secret['key']}={secret['masked']}  (set {secret['updated_at']})")
        return 0
    if not args.key:
        raise DeployError(f"secrets {args.action} NAME KEY: give the variable's name.")
    if args.action == "set":
        value = sys.stdin.read()
        value = value[:-1] if value.endswith("\n") else value
        if not value:
            raise DeployError("secrets set NAME KEY reads the value from stdin: it was empty.")
        client.set_secret(args.name, args.key, value)
        print(f"{args.key} set on {args.name}: its live version restarts", file=sys.stderr)
    else:
        client.unset_secret(args.name, args.key)
        print(f"{args.key} removed from {args.name}: its live version restarts", file=sys.stderr)
    return 0
