"""The readiness probe Kubernetes runs in the pod: the smoke test and the parity gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from compiler_helpers import code
from runtime_helpers import start_service, stop

DOUBLE = "def predict(x: int) -> int:\n    return x * 2"


def probe(bundle: Path, url: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run the bundle's own probe against `url`, as the pod's readiness probe does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_DEPLOY")}
    env.update(PYTHONPATH=str(bundle), TMPDIR=str(tmp))
    command = [sys.executable, "-m", "jupyter_deploy_runtime.probe", "--bundle", str(bundle)]
    command += ["--port", url.rsplit(":", 1)[1]]
    return subprocess.run(command, env=env, cwd=bundle, capture_output=True, text=True, timeout=60)


def with_golden(bundle: Path, cases: list[dict[str, object]]) -> None:
    """Put golden cases in the bundle's deploy.json (as the compiler records them)."""
    metadata = json.loads((bundle / "deploy.json").read_text())
    metadata["golden"] = {"rel_tol": 1e-6, "cases": cases}
    (bundle / "deploy.json").write_text(json.dumps(metadata))


def test_the_probe_is_ready_once_every_golden_case_is_reproduced(tmp_path: Path) -> None:
    # Given a live service and notebook answers it reproduces
    service = start_service(tmp_path, [code(DOUBLE, "predict")])
    bundle, marks = tmp_path / "bundle", tmp_path / "marks"
    marks.mkdir()
    with_golden(bundle, [{"input": {"x": 1}, "output": 2}, {"input": {"x": 3}, "output": 6.0}])
    try:
        # When the pod is probed
        done = probe(bundle, service.url, marks)
        # Then it is ready, and the cases are not replayed at every later probe
        assert done.returncode == 0, done.stderr
        assert (marks / "jupyter-deploy-golden-ok").exists()
    finally:
        stop(service)


def test_the_probe_keeps_a_version_that_answers_otherwise_out_of_traffic(tmp_path: Path) -> None:
    # Given a service whose answer differs from the notebook's for one golden case
    service = start_service(tmp_path, [code(DOUBLE, "predict")])
    bundle, marks = tmp_path / "bundle", tmp_path / "marks"
    marks.mkdir()
    with_golden(bundle, [{"input": {"x": 1}, "output": 2}, {"input": {"x": 3}, "output": 7}])
    try:
        # When the pod is probed
        done = probe(bundle, service.url, marks)
        # Then it is not ready, saying which input and both answers
        assert done.returncode == 1
        assert 'for the input {"x": 3} the notebook answered 7, this version answers 6' in (
            done.stderr
        )
        assert not (marks / "jupyter-deploy-golden-ok").exists()
    finally:
        stop(service)
