"""Writing a bundle folder atomically, without deleting files the export did not write.

The new bundle is written into a temporary folder beside DIR, then renamed over it. An earlier
bundle in DIR is replaced (its deploy.json says which files it wrote); other files found there
are carried over. A non-empty DIR that is not an earlier bundle is refused unless forced.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from jupyter_deploy.compiler import Bundle
from jupyter_deploy.errors import OutputNotABundle

RUNTIME = "jupyter_deploy_runtime"


def earlier_bundle_files(folder: Path) -> set[str] | None:
    """The files an earlier export wrote into `folder` (None: it holds no earlier bundle)."""
    try:
        metadata = json.loads((folder / "deploy.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(metadata, dict) or not str(metadata.get("generator", "")).startswith(
        "jupyter-deploy"
    ):
        return None
    written = {"predict.py", "deploy.json", "requirements.txt"}
    written |= {str(a.get("path")) for a in metadata.get("artifacts", []) if isinstance(a, dict)}
    written |= {str(f) for f in metadata.get("files", [])}
    written |= {p.relative_to(folder).as_posix() for p in (folder / RUNTIME).glob("*")}
    return written


def write_bundle(bundle: Bundle, output: Path, force: bool = False) -> None:
    """Write `bundle` into `output`: all of it or nothing."""
    earlier: set[str] = set()
    if output.exists():
        if not output.is_dir():
            raise OutputNotABundle(f"{output} is a file, not a folder: choose another -o.")
        found = earlier_bundle_files(output)
        if found is None and any(output.iterdir()) and not force:
            raise OutputNotABundle(
                f"{output}/ holds files and no earlier bundle: choose an empty or new folder, "
                "or pass --force to write the bundle among them (nothing there is deleted)."
            )
        earlier = found or set()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        bundle.write(staging)
        if output.exists():
            _carry_over(output, staging, earlier, set(bundle.files))
            retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old.", dir=output.parent))
            output.rename(retired / "bundle")
            staging.rename(output)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _carry_over(output: Path, staging: Path, earlier: set[str], new: set[str]) -> None:
    """Copy the files the export did not write (not in the earlier bundle) into the new tree."""
    for path in sorted(output.rglob("*")):
        relative = path.relative_to(output).as_posix()
        if path.is_dir() or relative in earlier or relative in new:
            continue
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
