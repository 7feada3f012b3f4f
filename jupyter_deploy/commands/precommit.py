"""`jupyter-deploy-precommit NOTEBOOK...`: the pre-commit hook (see .pre-commit-hooks.yaml).

For every notebook given that has a cell tagged `predict` and a committed bundle folder, run
`jupyter deploy export NOTEBOOK -o FOLDER --check`; exit 1 when any module is out of date.
The folder of a notebook comes from a template (`--bundle`, default `{dir}/deploy/{stem}`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jupyter_deploy.commands import export
from jupyter_deploy.compiler import load_notebook
from jupyter_deploy.compiler.cells import PREDICT
from jupyter_deploy.errors import DeployError

DEFAULT_BUNDLE = "{dir}/deploy/{stem}"


def bundle_folder(notebook: Path, template: str) -> Path:
    """Where the generated module of `notebook` is committed: `template` filled in."""
    return Path(template.format(dir=notebook.parent.as_posix(), stem=notebook.stem))


def has_predict_cell(nb: object) -> bool:
    """True when a code cell is tagged `predict` (without parsing any cell)."""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    for cell in cells if isinstance(cells, list) else []:
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell, dict) else []
        if cell.get("cell_type") == "code" and isinstance(tags, list) and PREDICT in tags:
            return True
    return False


def check_one(notebook: Path, template: str) -> int:
    """0 when the notebook needs no check or its folder is true; 1 when out of date."""
    nb, _ = load_notebook(notebook)
    if not has_predict_cell(nb):
        return 0
    folder = bundle_folder(notebook, template)
    if not folder.is_dir():
        print(f"{notebook}: no generated module at {folder}/, nothing to check", file=sys.stderr)
        return 0
    args = argparse.Namespace(
        notebook=notebook, output=folder, name=None, execute=False, check=True
    )
    return export.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Check each notebook given; 1 when any committed module is stale, 2 on an error."""
    parser = argparse.ArgumentParser(
        prog="jupyter-deploy-precommit",
        description="Fail when a committed generated module differs from its notebook.",
    )
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument(
        "--bundle",
        default=DEFAULT_BUNDLE,
        help="folder of a notebook's module; {dir} and {stem} are filled in "
        f"(default: {DEFAULT_BUNDLE})",
    )
    args = parser.parse_args(argv)
    worst = 0
    for notebook in args.notebooks:
        try:
            worst = max(worst, check_one(notebook, args.bundle))
        except DeployError as error:
            print(f"error: {notebook}: {error}", file=sys.stderr)
            worst = 2
    return worst


if __name__ == "__main__":
    sys.exit(main())
