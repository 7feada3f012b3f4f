"""`jupyter deploy builder`: run the build service (the DevOps endpoint) in the foreground."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from jupyter_deploy.builder.client import TOKEN_ENV
from jupyter_deploy.errors import DeployError

HELP = "run the build service (REST API under /v1, bearer token)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `jupyter deploy builder`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--backend", choices=["local", "docker", "kubernetes"], default="local")
    parser.add_argument("--state", type=Path, default=Path(".jupyter-deploy"), help="state folder")
    parser.add_argument(
        "--token", default=None, help=f"the admin bearer token (default: ${TOKEN_ENV})"
    )
    parser.add_argument(
        "--tokens-file",
        type=Path,
        help="tokens with roles, one a line: NAME ROLE TOKEN (ROLE: admin, deploy or read)",
    )
    parser.add_argument(
        "--reuse-site-packages",
        action="store_true",
        help="local: run on this Python's packages when they match (no virtualenv)",
    )
    parser.add_argument("--base-image", help="docker/kubernetes: base image of model images")
    parser.add_argument("--registry", help="kubernetes: registry to push model images to")
    parser.add_argument("--namespace", help="kubernetes: namespace of the deployments")
    parser.add_argument("--kubeconfig", help="kubernetes: kubeconfig file (default: in-cluster)")
    parser.add_argument(
        "--dry-run", action="store_true", help="kubernetes: print manifests, apply nothing"
    )
    parser.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other backend option (docs/backends.md), e.g. -o replicas=3 -o grace=10",
    )
    parser.add_argument("--max-bundle-mb", type=int, default=512, help="largest bundle accepted")
    parser.add_argument(
        "--max-extracted-mb", type=int, default=1024, help="largest size a bundle may unpack to"
    )
    parser.add_argument("--max-files", type=int, default=10_000, help="most entries in a bundle")
    parser.add_argument("--max-file-mb", type=int, default=512, help="largest file in a bundle")
    parser.add_argument(
        "--supervise-seconds",
        type=float,
        default=1.0,
        help="how often live model services are checked (and restarted when gone)",
    )
    parser.add_argument(
        "--restart-backoff",
        type=float,
        default=1.0,
        help="seconds before the first retry of a failed restart (doubling, up to 30x)",
    )


def options_of(args: argparse.Namespace) -> dict[str, object]:
    """Backend options from the flags that were given."""
    names = ("base_image", "registry", "namespace", "kubeconfig")
    options: dict[str, object] = {n: getattr(args, n) for n in names if getattr(args, n)}
    if args.reuse_site_packages:
        options["reuse_site_packages"] = True
    if args.dry_run:
        options["dry_run"] = True
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DeployError(f"--option {item!r}: write KEY=VALUE, e.g. --option replicas=3.")
        options[key.replace("-", "_")] = _value(value)
    return options


def _value(text: str) -> object:
    """`3` -> 3, `true` -> True, anything else stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; model services keep running after the builder stops."""
    import uvicorn

    from jupyter_deploy.builder.access import Token, read_tokens
    from jupyter_deploy.builder.app import create_app
    from jupyter_deploy.builder.backends import make_backend
    from jupyter_deploy.builder.bundles import Limits, MiB
    from jupyter_deploy.builder.core import BuildService
    from jupyter_deploy.builder.supervisor import Supervisor

    token = args.token or os.environ.get(TOKEN_ENV, "")
    tokens = [Token("admin", "admin", token)] if token else []
    if args.tokens_file:
        tokens += read_tokens(args.tokens_file)
    if not tokens:
        raise DeployError(
            f"The build service needs a token: pass --token T, set ${TOKEN_ENV} or give "
            "--tokens-file."
        )
    state = args.state.resolve()
    backend = make_backend(args.backend, state, options_of(args))
    limits = Limits(args.max_extracted_mb * MiB, args.max_files, args.max_file_mb * MiB)
    service = BuildService(state, backend, limits)
    for note in service.recover():
        print(f"start-up: {note}", file=sys.stderr)
    supervisor = Supervisor(service, args.supervise_seconds, args.restart_backoff).start()
    app = create_app(service, tokens, max_bundle=args.max_bundle_mb * MiB)
    options = json.dumps(options_of(args))
    print(
        f"build service ({args.backend}, options {options}) on http://{args.host}:{args.port}, "
        f"state in {state}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    supervisor.stop()
    service.close()
    return 0
