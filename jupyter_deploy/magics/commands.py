"""`%deploy status|logs|test|list|rollback|delete`: thin calls of BuilderClient, shown as text.

Each answer displays as plain text (what nbclient, nbconvert and terminals keep) with an
HTML twin where a front end can render links.
"""

from __future__ import annotations

import argparse
import html
import json
from typing import Any

from jupyter_deploy.builder.client import BuilderClient, describe_invocation
from jupyter_deploy.commands.rollout import rollout_lines
from jupyter_deploy.errors import InvalidRequest
from jupyter_deploy.magics import api, flow
from jupyter_deploy.wire import default_name


def run(shell: Any, command: str, args: argparse.Namespace) -> None:
    """Run one subcommand with its parsed arguments."""
    client = BuilderClient.from_env(args.builder, args.token)
    name = getattr(args, "name", None) or _default_name(shell, command)
    if command == "status":
        status(client, name)
    elif command == "logs":
        logs(client, name)
    elif command == "test":
        test(client, name, " ".join(args.payload))
    elif command == "list":
        listing(client)
    elif command == "rollback":
        rollback(client, name, args.version, args.wait)
    elif command == "delete":
        client.delete(name)
        show(f"Deleted {name}: its service is stopped and its versions removed.")
    elif command in ("split", "promote", "abort"):
        show("\n".join(rollout_lines(client, command, name)))


def _default_name(shell: Any, command: str) -> str:
    if command == "list":
        return ""
    session = flow.session_notebook(getattr(shell, "user_ns", {}))
    if not session:
        raise InvalidRequest(f"Name the deployment: %deploy {command} NAME.")
    return default_name(session)


def show(text: str, markup: str | None = None) -> None:
    """Display text (and its HTML twin in a front end that renders HTML)."""
    from IPython.display import display

    bundle = {"text/plain": text}
    if markup is not None:
        bundle["text/html"] = markup
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


def _link(url: str | None) -> str:
    if not url:
        return "-"
    safe = html.escape(url)
    return f'<a href="{safe}" target="_blank">{safe}</a>'


def status(client: BuilderClient, name: str) -> None:
    """`Live at URL (version N)`, or the status and the newest build's phase."""
    deployment = client.deployment(name)
    state = str(deployment.get("status"))
    url = deployment.get("url")
    version = deployment.get("live_version")
    if state == "live":
        text = f"{name}: Live at {url} (version {version})"
        markup = f"<b>{html.escape(name)}</b>: Live at {_link(url)} (version {version})"
    else:
        text = f"{name}: {state}" + (f"; version {version} answers at {url}" if url else "")
        markup = html.escape(text)
    show(text, markup)


def logs(client: BuilderClient, name: str) -> None:
    """The log of the deployment's newest build."""
    build_id = client.latest_build_id(name)
    chunk = client.logs(build_id, 0)
    show(chunk.text or f"(build {build_id} has written no log yet)")


def test(client: BuilderClient, name: str, payload: str) -> None:
    """POST a JSON input (default: the deployment's example) to the live /predict."""
    body = _payload(payload) if payload.strip() else client.example(name)
    show(describe_invocation(client.invoke(name, body)))


def _payload(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"The input is not JSON ({exc.args[0]}): {text}") from None


def listing(client: BuilderClient) -> None:
    """One line per deployment: name, status, live version, URL."""
    rows = client.deployments()
    if not rows:
        show("No deployments yet.")
        return
    lines = [f"{'NAME':<24} {'STATUS':<9} {'VERSION':>7}  URL"]
    cells = []
    for row in rows:
        version = row.get("live_version") or "-"
        url = row.get("url") or "-"
        lines.append(f"{row['name']:<24} {row['status']:<9} {version!s:>7}  {url}")
        cells.append(
            f"<tr><td>{html.escape(str(row['name']))}</td><td>{html.escape(str(row['status']))}"
            f"</td><td>{version}</td><td>{_link(row.get('url'))}</td></tr>"
        )
    head = "<tr><th>name</th><th>status</th><th>version</th><th>URL</th></tr>"
    show("\n".join(lines), f"<table>{head}{''.join(cells)}</table>")


def rollback(client: BuilderClient, name: str, version: int | None, wait: bool) -> None:
    """Switch back to the previous (or given) version, with the same progress as a deploy."""
    build = client.rollback(name, version)
    if not wait:
        show(f"Rollback of {name} queued (build {build['id']}).")
        return
    target = f"version {version}" if version is not None else "the previous version"
    api.follow_build(client, build, f"Rolling {name} back to {target}", None, 900.0)
