"""The pre-commit hook (.pre-commit-hooks.yaml), run by the real pre-commit tool in a temporary
git repository that commits a notebook and its generated module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from compiler_helpers import code, make_notebook, write_notebook

from jupyter_deploy.commands.precommit import bundle_folder, main

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
PREDICT = "def predict(x: float) -> float:\n    return x * SCALE"

# the hook environment (jupyter-deploy and its dependencies) is installed by pre-commit
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This project's tracked sources (with uncommitted edits) as a git repository; its HEAD."""
    repo = tmp_path_factory.mktemp("hook-repo")
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hook source")
    return repo, git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pre-commit's home, shared by the tests: the hook's environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    """A data scientist's repository: a notebook, its exported module, the hook configured."""
    source, rev = hook_repo
    repo = tmp_path / "project"
    nb = make_notebook("SCALE = 2", code(PREDICT, "predict"))
    write_notebook(nb, repo / "models", "double.ipynb")
    git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {source}\n  rev: {rev}\n  hooks:\n  - id: jupyter-deploy-check\n"
    )
    export = [sys.executable, "-m", "jupyter_deploy.cli", "export", "models/double.ipynb"]
    subprocess.run([*export, "-o", "models/deploy/double"], cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model and its module")
    return repo


def pre_commit(repo: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit run --all-files` with its own cache; the hook's install skips the front end
    (SKIP_JUPYTER_BUILDER: the checker needs no lab extension)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PRE_COMMIT_HOME=str(cache), SKIP_JUPYTER_BUILDER="1")
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_passes_when_the_committed_module_is_true(project: Path, cache: Path) -> None:
    # Given a notebook whose committed module is what it compiles to
    # When pre-commit runs the hook
    done = pre_commit(project, cache)
    # Then it passes
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout


def test_hook_fails_with_a_diff_when_the_committed_module_is_stale(
    project: Path, cache: Path
) -> None:
    # Given a notebook changed after its module was committed
    nb = make_notebook("SCALE = 3", code(PREDICT, "predict"))
    write_notebook(nb, project / "models", "double.ipynb")
    git(project, "commit", "-q", "-am", "new scale, module not regenerated")
    # When pre-commit runs the hook
    done = pre_commit(project, cache)
    # Then it fails, shows the diff and says how to regenerate
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout
    assert "-SCALE = 2" in done.stdout and "+SCALE = 3" in done.stdout
    assert "predict.py" in done.stdout and "without --check" in done.stdout


def test_notebooks_without_a_predict_cell_or_module_are_not_checked(tmp_path: Path) -> None:
    # Given a notebook with no predict cell and one with a predict cell but no committed module
    plain = write_notebook(make_notebook("x = 1"), tmp_path, "plain.ipynb")
    lone = write_notebook(make_notebook(code(PREDICT, "predict")), tmp_path, "lone.ipynb")
    # When the hook's entry point checks them
    status = main([str(plain), str(lone)])
    # Then nothing fails, and the folder template is filled from the notebook's path
    assert status == 0
    assert bundle_folder(lone, "{dir}/deploy/{stem}") == tmp_path / "deploy" / "lone"


def test_a_file_that_is_not_a_notebook_is_an_error_naming_it(tmp_path: Path) -> None:
    # Given a .ipynb file that is not JSON
    broken = tmp_path / "broken.ipynb"
    broken.write_text("not json")
    # When the hook checks it
    # Then it exits 2 (an error, not a stale module)
    assert main([str(broken)]) == 2
