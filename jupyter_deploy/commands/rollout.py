"""`jupyter deploy promote|abort|split NAME`: end or watch a canary or shadow from a terminal.

A split starts with `jupyter deploy push NOTEBOOK --canary 10` (or `--shadow 100`); see
docs/rollouts.md. The builder is `--builder URL --token T` or the environment, as for push.
"""

from __future__ import annotations

import argparse
from typing import Any

from jupyter_deploy.builder.client import BuilderClient

HELPS = {
    "promote": "end a canary or shadow: the new version takes every request",
    "abort": "end a canary or shadow: every request goes back to the current version",
    "split": "both versions' figures while a canary or shadow runs (--percent N changes it)",
}
ROLLOUT_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--canary",), {"type": int, "metavar": "PERCENT", "help": "send PERCENT of requests to it"}),
    (("--shadow",), {"type": int, "metavar": "PERCENT", "help": "copy PERCENT of requests to it"}),
    (("--max-error-rate",), {"type": float, "help": "abort the split over this error rate"}),
    (("--max-p95-ms",), {"type": float, "help": "abort the split over this p95 (ms)"}),
]


def rollout_options(args: argparse.Namespace) -> dict[str, Any]:
    """The build query of `--canary/--shadow/--max-*` (empty when none was given)."""
    keys = ("canary", "shadow", "max_error_rate", "max_p95_ms")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def describe_split(split: dict[str, Any] | None) -> list[str]:
    """A split as lines: its mode, then one line per version (rate, errors, p95)."""
    if not split:
        return ["no canary or shadow running"]
    verb = "gets" if split["mode"] == "canary" else "gets copies of"
    candidate = split["candidate"]["version"]
    lines = [f"{split['mode']}: version {candidate} {verb} {split['percent']}% of requests"]
    if split.get("note"):
        lines.append(f"  ({split['note']})")
    for role in ("stable", "candidate"):
        side = split[role]
        if side["requests"] is None:
            lines.append(f"  {role:<9} v{side['version']:<4} (figures: the platform's metrics)")
            continue
        errors = "-" if side["error_rate"] is None else f"{side['error_rate']:.1%}"
        p95 = "-" if side["p95_ms"] is None else f"{side['p95_ms']:g} ms"
        lines.append(
            f"  {role:<9} v{side['version']:<4} {side['requests']:>7} requests "
            f"{side['rate_per_s']:>7g}/s  errors {errors:>6}  p95 {p95}"
        )
    agreement = split.get("agreement")
    if agreement and agreement["compared"]:
        lines.append(
            f"  agreement {agreement['rate']:.1%} of {agreement['compared']} compared answers"
        )
        lines += [f"    differs: {item['input']}" for item in agreement["differing"][-5:]]
    return lines


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """NAME, then --builder and --token."""
    parser.add_argument("name")
    if command == "split":
        parser.add_argument("--percent", type=int, help="give the new version this share now")
    parser.add_argument(
        "--builder", help="build service URL (default: $JUPYTER_DEPLOY_BUILDER_URL)"
    )
    parser.add_argument("--token", help="build service token (default: $JUPYTER_DEPLOY_TOKEN)")


def run(args: argparse.Namespace) -> int:
    """Promote, abort, or show the split."""
    client = BuilderClient.from_env(args.builder, args.token)
    if getattr(args, "percent", None) is not None:
        client.set_split(args.name, args.percent)
    print("\n".join(rollout_lines(client, args.command, args.name)))
    return 0


def rollout_lines(client: BuilderClient, command: str, name: str) -> list[str]:
    """Run `split`, `promote` or `abort` for `name`; what to show, as lines (CLI and %deploy)."""
    if command == "split":
        return describe_split(client.deployment(name).get("split"))
    outcome = client.promote(name) if command == "promote" else client.abort(name)
    head = f"{name}: {outcome['outcome']}, version {outcome['live_version']} live"
    return [head, *describe_split(outcome["split"])[1:]]
