"""`python -m jupyter_deploy_runtime --bundle DIR --port P [--workers N] [--public-port S]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .requestlog import options_from_env
from .settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="jupyter_deploy_runtime", description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("."), help="bundle folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--public-port", type=int, default=None, help="opened on SIGUSR1")
    args = parser.parse_args(argv)
    if not (args.bundle / "predict.py").is_file():
        print(f"error: {args.bundle} has no predict.py: is it a bundle?", file=sys.stderr)
        return 2
    try:
        json.loads((args.bundle / "deploy.json").read_text())
        Settings.from_env()
        options_from_env()
        from .server import serve
    except (OSError, ValueError) as error:
        print(f"error: {args.bundle}/deploy.json: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return serve(args.bundle.resolve(), args.host, args.port, args.workers, args.public_port)
    except OSError as error:  # the port is taken by another program, or the host is wrong
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
