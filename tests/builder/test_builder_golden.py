"""The parity gate in the build's testing phase: a real builder replays the notebook's golden
cases against the new model service before it goes live."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess
from compiler_helpers import code, make_notebook, ran

from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.compiler.sources import NamespaceSource

pytestmark = pytest.mark.slow


def weights_bundle(folder: Path, read_at_call_time: bool) -> bytes:
    """predict(k) -> a weight. Read at call time from weights.json beside the notebook (a file
    the bundle does not carry, since no setup cell names it) with a fallback of 0.0, the kernel
    answers 1.5 and the service 0.0; read from a literal, both answer alike."""
    body = (
        "    try:\n        return json.load(open('weights.json'))[k]\n"
        "    except FileNotFoundError:\n        return 0.0"
        if read_at_call_time
        else "    return {'a': 1.5, 'b': 2.5}[k]"
    )
    nb = make_notebook(
        "import json",
        code(f"def predict(k: str) -> float:\n{body}", "predict"),
        code("example = 'a'", "example"),
        "predict('b')",
    )
    (folder / "weights.json").write_text('{"a": 1.5, "b": 2.5}')
    namespace = ran(nb)
    bundle = compile_with_capture(
        nb, NamespaceSource(namespace), name="weights", notebook_dir=folder
    )
    return bundle.tarball()


def test_the_testing_phase_reproduces_the_notebook_answers(
    builder: BuilderProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bundle whose golden cases are the kernel's answers
    monkeypatch.chdir(tmp_path)
    client = builder.client()
    # When it is built
    build = client.wait(client.create_build("weights", weights_bundle(tmp_path, False))["id"])
    # Then it goes live and the testing phase says how many answers it reproduced
    assert build["phase"] == "live", build
    assert "2 notebook answers reproduced" in client.logs(build["id"]).text


def test_a_service_that_answers_unlike_the_notebook_fails_and_the_old_one_serves(
    builder: BuilderProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the notebook's folder, where its kernel runs
    client = builder.client()
    live = client.wait(client.create_build("weights", weights_bundle(tmp_path, False))["id"])
    assert live["phase"] == "live", live
    # When a version is built whose service answers differently from the notebook's kernel
    failed = client.wait(client.create_build("weights", weights_bundle(tmp_path, True))["id"])
    # Then the build fails in testing, naming the input, the notebook's and the service's answer
    assert failed["phase"] == "failed"
    assert failed["error"]["phase"] == "testing"
    message = failed["error"]["message"]
    assert 'for the input {"k": "a"} the notebook answered 1.5, the service answered 0.0' in (
        message
    ), message
    # And version 1 still serves
    answer = requests.post(f"{live['url']}/predict", json={"k": "b"}, timeout=10)
    assert answer.json() == {"prediction": 2.5}
    assert client.deployment("weights")["live_version"] == 1


def test_a_deployment_with_api_keys_still_passes_its_golden_cases(
    builder: BuilderProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = builder.client()
    live = client.wait(client.create_build("weights", weights_bundle(tmp_path, False))["id"])
    assert live["phase"] == "live", live
    # When the deployment gets an API key (the live version restarts through the pipeline)
    created = client.create_key("weights", "shop")
    restart = client.wait(created["restart"]["id"])
    # Then the restart replays the golden cases with the build service's own key and goes live
    assert restart["phase"] == "live", restart
    assert "2 notebook answers reproduced" in client.logs(restart["id"]).text
    # And the service takes that key only
    url = f"{live['url']}/predict"
    assert requests.post(url, json={"k": "b"}, timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert requests.post(url, json={"k": "b"}, headers=headers, timeout=10).ok
