"""`python -m jupyter_deploy_runtime.probe --port P`: readiness with the smoke test built in.

Kubernetes runs it as the readiness probe: a pod is ready only when the model has loaded,
answers the example input from deploy.json with 200, and answers every golden case as the
notebook did (the parity gate the build service runs for the other backends), so a broken or
different version never takes traffic. The golden cases are replayed until they pass once in
this pod (a marker file in the temporary folder, when it can be written). Exit 0 when ready,
1 otherwise, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from .golden import golden_cases, same_answer

MARKER = Path(tempfile.gettempdir()) / "jupyter-deploy-golden-ok"


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
        metadata = json.loads((args.bundle / "deploy.json").read_text())
        example = metadata.get("example")
        if example is not None:
            _post(f"{base}/predict", example, auth)
        if not MARKER.exists():
            _replay(metadata, base, auth)
        return 0
    except Exception as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1


def _post(url: str, body: Any, auth: dict[str, str]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **auth}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _replay(metadata: dict[str, Any], base: str, auth: dict[str, str]) -> None:
    cases, rel_tol = golden_cases(metadata)
    for case in cases:
        got = _post(f"{base}/predict", case["input"], auth).get("prediction")
        if not same_answer(case.get("output"), got, rel_tol):
            raise ValueError(
                f"for the input {json.dumps(case['input'])[:200]} the notebook answered "
                f"{json.dumps(case.get('output'))[:200]}, this version answers "
                f"{json.dumps(got)[:200]}"
            )
    with contextlib.suppress(OSError):  # a read-only file system: replay at every probe
        MARKER.touch()


if __name__ == "__main__":
    sys.exit(main())
