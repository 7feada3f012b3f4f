"""`python -m jupyter_deploy_runtime.probe --port P`: readiness with the smoke test built in.

Kubernetes runs it as the readiness probe: a pod is ready only when the model has loaded and
answers the example input from deploy.json with 200, so a broken version never takes traffic.
Exit 0 when ready, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Probe the local service once."""
    parser = argparse.ArgumentParser(prog="jupyter_deploy_runtime.probe")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--bundle", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}"
    key = os.environ.get("JUPYTER_DEPLOY_PROBE_KEY")  # set by the build service with API keys
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as answer:
            if answer.status != 200:
                return 1
        example = json.loads((args.bundle / "deploy.json").read_text()).get("example")
        if example is None:
            return 0
        request = urllib.request.Request(
            f"{base}/predict",
            data=json.dumps(example).encode(),
            headers={"Content-Type": "application/json", **auth},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return 0 if answer.status == 200 else 1
    except Exception as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
