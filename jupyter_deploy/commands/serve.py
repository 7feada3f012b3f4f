"""`jupyter deploy serve BUNDLE_DIR`: run an exported bundle exactly as every backend does."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jupyter_deploy.errors import InvalidBundle

HELP = "serve an exported bundle (the model service every backend runs)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `jupyter deploy serve`."""
    parser.add_argument("bundle", type=Path, help="a folder written by `jupyter deploy export`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")


def run(args: argparse.Namespace) -> int:
    """`python -m jupyter_deploy_runtime` inside the bundle, until Ctrl-C or SIGTERM."""
    bundle: Path = args.bundle.resolve()
    if not (bundle / "predict.py").is_file() or not (bundle / "jupyter_deploy_runtime").is_dir():
        raise InvalidBundle(
            f"{args.bundle} is not a bundle (no predict.py or jupyter_deploy_runtime/): "
            "write one with `jupyter deploy export NOTEBOOK -o DIR`."
        )
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", "."]
    command += ["--host", args.host, "--port", str(args.port), "--workers", str(args.workers)]
    print(f"serving {args.bundle} on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    os.chdir(bundle)
    os.execve(sys.executable, command, {**os.environ, "PYTHONPATH": str(bundle)})
