"""The parity gate in the build's testing phase: a real builder replays the notebook's golden
cases against the new model service before it goes live."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from builder_helpers import BuilderProcess
from compiler_helpers import code, make_notebook

from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.compiler.sources import NamespaceSource

pytestmark = pytest.mark.slow


def labels_bundle(mutated: bool) -> bytes:
    """A notebook whose literal list is appended to in a later cell (code the compiler copies
    as the literal, so the service does not see the append): the kernel and the module differ
    when `mutated`."""
    cells = ["LABELS = ['cat', 'dog']"]
    if mutated:
        cells.append("LABELS.append('bird')")
    nb = make_notebook(
        *cells,
        code("def predict(i: int) -> str:\n    return LABELS[i % len(LABELS)]", "predict"),
        code("example = 1", "example"),
        "predict(2)",
    )
    namespace: dict[str, Any] = {"LABELS": ["cat", "dog", "bird"] if mutated else ["cat", "dog"]}
    exec(nb.cells[-3].source, namespace)
    bundle = compile_with_capture(nb, NamespaceSource(namespace), name="labels")
    return bundle.tarball()


def test_the_testing_phase_reproduces_the_notebook_answers(builder: BuilderProcess) -> None:
    # Given a bundle whose golden cases are the kernel's answers
    client = builder.client()
    # When it is built
    build = client.wait(client.create_build("labels", labels_bundle(mutated=False))["id"])
    # Then it goes live and the testing phase says how many answers it reproduced
    assert build["phase"] == "live", build
    assert "2 notebook answers reproduced" in client.logs(build["id"]).text


def test_a_service_that_answers_unlike_the_notebook_fails_and_the_old_one_serves(
    builder: BuilderProcess,
) -> None:
    client = builder.client()
    live = client.wait(client.create_build("labels", labels_bundle(mutated=False))["id"])
    assert live["phase"] == "live", live
    # When a version is built whose service answers differently from the notebook's kernel
    failed = client.wait(client.create_build("labels", labels_bundle(mutated=True))["id"])
    # Then the build fails in testing, naming the input, the notebook's and the service's answer
    assert failed["phase"] == "failed"
    assert failed["error"]["phase"] == "testing"
    message = failed["error"]["message"]
    assert 'for the input {"i": 2} the notebook answered "bird", the service answered "cat"' in (
        message
    ), message
    # And version 1 still serves
    answer = requests.post(f"{live['url']}/predict", json={"i": 2}, timeout=10)
    assert answer.json() == {"prediction": "cat"}
    assert client.deployment("labels")["live_version"] == 1
