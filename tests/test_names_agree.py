"""One name rule: the server (and so the panel), `%deploy` and the CLI name a notebook alike.

The rule lives in `jupyter_deploy.wire`; the panel shows the name the server's preview answers
(labextension/__tests__/model.spec.ts: "takes the default name from the server's preview answer").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from magics_helpers import Builder, code_cell, notebook, run, shown
from server_helpers import (  # noqa: F401 - fixtures
    builder_endpoint,
    call,
    constant_notebook,
    jp_server_config,
)

from jupyter_deploy.cli import main as cli
from jupyter_deploy.wire import default_name, is_name

AWKWARD = [
    "2024 model.ipynb",  # digits first, a space
    "Iris Model (v2).ipynb",
    "modèle été.ipynb",  # accents
    "日本語.ipynb",  # nothing left in [a-z0-9]
    "x" * 80 + ".ipynb",  # too long
    "x" * 62 + "-tail.ipynb",  # cut at 63 would end in '-'
    "trailing---.ipynb",
    "v1.2_final.ipynb",  # dots and underscores
]
EXPECTED = {
    "2024 model.ipynb": "2024-model",
    "Iris Model (v2).ipynb": "iris-model-v2",
    "modèle été.ipynb": "modele-ete",
    "日本語.ipynb": "model",
    "trailing---.ipynb": "trailing",
    "v1.2_final.ipynb": "v1-2-final",
}


def test_the_rule_gives_a_valid_name_for_every_awkward_notebook_name() -> None:
    # Given awkward notebook file names
    for path in AWKWARD:
        # When the rule names them
        name = default_name(path)
        # Then each name is valid for the builder, and the known ones are as documented
        assert is_name(name), (path, name)
        assert name == EXPECTED.get(path, name)
        assert len(name) <= 63 and not name.endswith("-")


async def test_the_server_preview_answers_the_rules_name(
    jp_fetch: Any,
    jp_root_dir: Path,
) -> None:
    for path in AWKWARD:
        # Given a notebook with that file name
        constant_notebook(jp_root_dir, path)
        # When the panel asks for its preview
        answer = await call(jp_fetch, "preview", method="POST", body={"path": path})
        # Then the server names it by the one rule
        assert answer["name"] == default_name(path), path


def test_the_cli_export_names_the_bundle_by_the_rule(tmp_path: Path) -> None:
    for index, path in enumerate(AWKWARD):
        # Given a notebook with that file name
        constant_notebook(tmp_path, path)
        out = tmp_path / f"out-{index}"
        # When the CLI exports it without --name (push compiles the same way)
        assert cli(["export", str(tmp_path / path), "-o", str(out)]) == 0
        # Then the bundle carries the rule's name
        assert json.loads((out / "deploy.json").read_text())["name"] == default_name(path)


@pytest.mark.slow
def test_deploy_magic_names_the_session_notebook_by_the_rule(
    magics_builder: Builder, tmp_path: Path
) -> None:
    # Given a kernel that runs %deploy status for sessions of each awkward notebook
    cells: list[Any] = ["%load_ext jupyter_deploy"]
    for path in AWKWARD:
        cells.append(
            code_cell(f"import os\nos.environ['JPY_SESSION_NAME'] = {path!r}\n%deploy status")
        )
    nb = notebook(*cells)
    # When they run against a build service that has none of them
    executed = run(nb, env=magics_builder.env(), cwd=tmp_path)
    # Then each answer names the deployment the rule names
    for path, cell in zip(AWKWARD, executed.cells[1:], strict=True):
        seen = shown(cell).everything
        assert f"No deployment named '{default_name(path)}'" in seen, seen
