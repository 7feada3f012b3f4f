"""The release wheel: built by `python -m build` (scripts/build-wheel), installed into a fresh
virtualenv with no source tree and no Node, the extension is enabled and the CLI works.

This is the official extension template's isolated-install check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from compiler_helpers import code, make_notebook, write_notebook

ROOT = Path(__file__).resolve().parent.parent
LABEXT = "share/jupyter/labextensions/jupyter-deploy"

# building the front end and installing JupyterLab into a fresh virtualenv take minutes
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command; its output, or a failure that shows it."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colours
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel scripts/build-wheel makes from a clean copy of the sources."""
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run([str(ROOT / "scripts" / "build-wheel"), str(out)], ROOT, env, timeout=900)
    wheels = sorted(out.glob("jupyter_deploy-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}: {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtualenv with only the wheel installed; a PATH with no Node and no source."""
    home = tmp_path_factory.mktemp("fresh")
    venv = home / "venv"
    run([sys.executable, "-m", "venv", str(venv)], home, dict(os.environ))
    env = {
        "PATH": str(venv / "bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "SSL_", "REQUESTS_"))},
    }
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], home, env)
    return venv, env


def test_wheel_holds_the_prebuilt_lab_extension_and_the_server_config(wheel: Path) -> None:
    # Given the wheel python -m build made
    names = zipfile.ZipFile(wheel).namelist()
    data = f"jupyter_deploy-{wheel.name.split('-')[1]}.data/data/"
    # Then it carries the built front end, its install.json and the server extension switch
    assert f"{data}{LABEXT}/package.json" in names
    assert f"{data}{LABEXT}/install.json" in names
    assert f"{data}{LABEXT}/static/style.js" in names
    assert any(n.startswith(f"{data}{LABEXT}/static/remoteEntry.") for n in names)
    assert f"{data}etc/jupyter/jupyter_server_config.d/jupyter_deploy.json" in names
    # And the model service's own requirements travel with the runtime it copies into bundles
    assert "jupyter_deploy/runtime/requirements.txt" in names


def test_fresh_virtualenv_reports_the_extensions_enabled_and_ok(
    installed: tuple[Path, dict[str, str]],
) -> None:
    # Given the wheel installed in a fresh virtualenv, no Node on PATH, outside the source tree
    venv, env = installed
    home = venv.parent
    assert shutil.which("node", path=env["PATH"]) is None
    # When Jupyter lists its extensions
    lab = run([str(venv / "bin" / "jupyter"), "labextension", "list"], home, env)
    server = run([str(venv / "bin" / "jupyter"), "server", "extension", "list"], home, env)
    # Then the lab extension is prebuilt, enabled and OK, from the virtualenv's share folder
    assert re.search(r"jupyter-deploy v\S+ enabled OK \(python, jupyter-deploy\)", lab), lab
    assert str(venv / "share" / "jupyter" / "labextensions") in lab
    # And the server extension is enabled and imports
    assert "jupyter_deploy enabled" in server, server
    assert re.search(r"jupyter_deploy \S+ OK", server), server


def test_fresh_virtualenv_exports_a_notebook_with_the_cli(
    installed: tuple[Path, dict[str, str]],
) -> None:
    # Given the installed wheel and a notebook with a predict cell
    venv, env = installed
    folder = venv.parent / "work"
    nb = make_notebook(
        "SCALE = 2", code("def predict(x: float) -> float:\n    return x * SCALE", "predict")
    )
    path = write_notebook(nb, folder, "double.ipynb")
    # When `jupyter deploy export` compiles it
    said = run(
        [str(venv / "bin" / "jupyter"), "deploy", "export", str(path), "-o", "out"], folder, env
    )
    # Then the bundle is written from the installed package, and --check agrees with it
    assert "wrote out/" in said
    module = (folder / "out" / "predict.py").read_text()
    assert "SCALE = 2" in module and "def predict(x: float) -> float:" in module
    check = [str(venv / "bin" / "jupyter"), "deploy", "export", str(path), "-o", "out", "--check"]
    assert "up to date" in run(check, folder, env)
