"""`python -m jupyter_deploy_runtime --bundle DIR --port P [--workers N] [--public-port S]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .server import serve


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
    return serve(args.bundle.resolve(), args.host, args.port, args.workers, args.public_port)


if __name__ == "__main__":
    sys.exit(main())
