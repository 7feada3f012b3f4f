"""`%deploy traffic NAME` and `%deploy compare NAME [--last N]`, in the notebook's own kernel.

`compare` replays the deployment's last N logged inputs through this kernel's current
`predict` (the same function the server extension sends to a kernel) chunk by chunk, with a
progress line; the kernel's stop button cancels it and shows what was compared so far.
"""

from __future__ import annotations

import sys
from typing import Any

from jupyter_deploy import compare
from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.errors import InvalidRequest
from jupyter_deploy.traffic import describe_comparison, describe_traffic

COMMANDS = ("traffic", "compare")


def run(shell: Any, command: str, args: Any) -> None:
    """Run `traffic` or `compare` with its parsed arguments."""
    client = BuilderClient.from_env(args.builder, args.token)
    if command == "traffic":
        traffic(client, args.name, args.limit)
    else:
        comparison(shell, client, args.name, args.last)


def traffic(client: BuilderClient, name: str, limit: int = 10) -> None:
    """Figures of the last hour and the newest requests, as text."""
    from jupyter_deploy.magics.commands import show

    show(describe_traffic(client.traffic(name), client.recent_requests(name, limit)))


def comparison(shell: Any, client: BuilderClient, name: str, last: int) -> compare.Comparison:
    """Compare the last `last` live answers with this kernel's `predict`; shows the result."""
    from jupyter_deploy.magics.commands import show
    from jupyter_deploy.runtime.encode import dumps

    last = compare.check_last(last)
    function_name = _function_name(client, name)
    function = getattr(shell, "user_ns", {}).get(function_name)
    if not callable(function):
        raise InvalidRequest(
            f"This notebook has no {function_name} to compare with: run its cells first."
        )
    records = client.recent_requests(name, last, "200")["requests"]

    def progress(state: compare.Comparison) -> None:
        print(f"\rcompared {state.done} of {state.total}", end="", file=sys.stderr, flush=True)

    answer = compare.answers
    result = compare.run(
        name, records, lambda inputs: answer(function, inputs, dumps), on_progress=progress
    )
    print(file=sys.stderr)
    result.message = result.summary()
    show(describe_comparison(result.to_json()))
    return result


def _function_name(client: BuilderClient, name: str) -> str:
    import json

    try:
        metadata = json.loads(client.deployment_file(name, "deploy.json"))
    except ValueError:
        metadata = {}
    return str((metadata.get("functions") or {}).get("predict") or "predict")
