"""Compiler test helpers: notebooks from cell lists, a kernel-like run of a notebook, and a
fresh interpreter that imports a generated module and calls it.

`run_notebook` stands in for the data scientist's kernel: a new Python process runs every
code cell with IPython (magics and `!` included) in `__main__`, as a kernel does, calls
predict on the given inputs and captures the computed values with the compiler's own
`capture_namespace`. `call_module` then imports the bundle's predict.py in another new
process and calls it the same way, so a test compares the two answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import requests

from jupyter_deploy.compiler import Bundle, compile_notebook
from jupyter_deploy.compiler.capture import Captured

Json = Any

NOTEBOOK_RUNNER = r"""
import json, os, pickle, sys
from IPython.core.interactiveshell import InteractiveShell
import nbformat
from jupyter_deploy.compiler import analyze, capture_namespace

path, calls_path, out = sys.argv[1:4]
nb = nbformat.read(path, as_version=4)
os.chdir(os.path.dirname(path))
shell = InteractiveShell.instance()
for cell in nb.cells:
    if cell.cell_type == "code":
        shell.run_cell(cell.source, silent=True)
ns = shell.user_ns
calls = json.load(open(calls_path))
results = [ns["predict"](**call) for call in calls]
names = analyze(nb, directory=os.path.dirname(path)).artifact_names
values = capture_namespace(ns, names)
os.makedirs(out, exist_ok=True)
types = {}
for name, data in values.items():
    open(os.path.join(out, name + ".pkl"), "wb").write(data)
    types[name] = data.type_name
print("\n@@" + json.dumps({"results": results, "types": types}, default=repr))
"""

MODULE_RUNNER = r"""
import json, sys
sys.path.insert(0, ".")
import predict
calls = json.loads(sys.argv[1])
results = [predict.predict(**call) for call in calls]
print("\n@@" + json.dumps({"results": results}, default=repr))
"""


def code(source: str, *tags: str) -> Json:
    """A code cell, optionally tagged."""
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def make_notebook(*cells: Json | str, metadata: Json = None) -> Json:
    """A notebook of these cells (strings are untagged code cells), with stable ids."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.update(metadata or {})
    for index, cell in enumerate(cells, start=1):
        made = code(cell) if isinstance(cell, str) else cell
        made["id"] = f"c{index}"
        nb.cells.append(made)
    return nb


def write_notebook(nb: Json, folder: Path, name: str = "model.ipynb") -> Path:
    """Save `nb` in `folder`; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def _last_json(stdout: str) -> Json:
    marker = stdout.rfind("\n@@")
    assert marker >= 0, f"no result printed:\n{stdout}"
    return json.loads(stdout[marker + 3 :])


def run_notebook(path: Path, calls: list[Json]) -> tuple[list[Json], dict[str, bytes]]:
    """(predict's answers, captured values) from running the notebook like a kernel would."""
    calls_file = path.with_suffix(".calls.json")
    calls_file.write_text(json.dumps(calls))
    out = path.parent / "_captured"
    done = subprocess.run(
        [sys.executable, "-c", NOTEBOOK_RUNNER, str(path), str(calls_file), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = _last_json(done.stdout)
    values = {
        name: Captured.of((out / f"{name}.pkl").read_bytes(), type_name)
        for name, type_name in answer["types"].items()
    }
    return answer["results"], values


def call_module(bundle_dir: Path, calls: list[Json]) -> list[Json]:
    """predict's answers from the generated module, imported in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", MODULE_RUNNER, json.dumps(calls)],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results: list[Json] = _last_json(done.stdout)["results"]
    return results


def export_and_compare(
    nb: Json, tmp_path: Path, calls: list[Json], files: dict[str, str] | None = None
) -> Bundle:
    """Given a notebook, when it is run and exported, then the module answers as it does."""
    source = tmp_path / "nb"
    for relative, text in (files or {}).items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(text)
    path = write_notebook(nb, source)
    expected, values = run_notebook(path, calls)
    bundle = compile_notebook(
        nb, name="model", source_path="model.ipynb", notebook_dir=source, artifacts=values
    )
    target = bundle.write(tmp_path / "bundle")
    assert call_module(target, calls) == expected
    return bundle


def jupyter_deploy(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_deploy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def export_executed(nb: Json, folder: Path, *extra: str) -> tuple[Path, Json]:
    """`jupyter deploy export model.ipynb -o out --execute` in `folder`: (bundle, deploy.json)."""
    write_notebook(nb, folder)
    done = jupyter_deploy("export", "model.ipynb", "-o", "out", "--execute", *extra, cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "out", json.loads((folder / "out" / "deploy.json").read_text())


def ran(nb: Json, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """The namespace after running the notebook's code cells in order (plain Python)."""
    namespace = {} if namespace is None else namespace
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, namespace)
    return namespace


@contextlib.contextmanager
def served(bundle_dir: Path) -> Iterator[str]:
    """Run a written bundle as a backend does; the model service's URL while it runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "-m", "jupyter_deploy_runtime", "--bundle", "."]
    log = open(bundle_dir.parent / f"service-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=bundle_dir,
        env={**os.environ, "PYTHONPATH": str(bundle_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, (bundle_dir.parent / f"service-{port}.log").read_text()
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
