"""`jupyter deploy traffic NAME`: a deployment's traffic figures and newest requests.

The builder is `--builder URL --token T`, or $JUPYTER_DEPLOY_BUILDER_URL and
$JUPYTER_DEPLOY_TOKEN, as for every client command.
"""

from __future__ import annotations

import argparse

from jupyter_deploy.builder.client import BuilderClient
from jupyter_deploy.traffic import describe_traffic
from jupyter_deploy.wire import check_name

HELP = "a deployment's requests, errors and latency per minute, and its newest requests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """NAME, the window, how many requests, and the builder."""
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--minutes", type=int, default=60, help="window (default 60)")
    parser.add_argument("--limit", type=int, default=10, help="requests listed (default 10)")
    parser.add_argument("--status", default=None, help="only these answers: 200, 5xx or error")
    parser.add_argument(
        "--builder", help="build service URL (default: $JUPYTER_DEPLOY_BUILDER_URL)"
    )
    parser.add_argument("--token", help="build service token (default: $JUPYTER_DEPLOY_TOKEN)")


def run(args: argparse.Namespace) -> int:
    """Print the figures and the table."""
    client = BuilderClient.from_env(args.builder, args.token)
    name = check_name(args.name)
    figures = client.traffic(name, args.minutes)
    rows = client.recent_requests(name, args.limit, args.status)
    print(describe_traffic(figures, rows))
    return 0
