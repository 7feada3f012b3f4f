"""Load every bundle in a clean interpreter before it ships, as the model service will.

A new Python process (isolated: no user site, no PYTHONPATH) imports the bundle's predict.py
and calls predict on the golden inputs. What it reports:
- a NameError for a name the notebook defines (a function a statsmodels formula names in a
  string, which unpickling evaluates): the compiler pulls that definition in and loads again;
- any other failure: the export fails, naming it;
- the modules imported on the way (`BeautifulSoup(text, "lxml")` imports lxml although no
  import names it): their distributions are pinned in requirements.txt.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_deploy.errors import CompileError

TIMEOUT = 300.0
MARKER = "__jupyter_deploy_verify__"
_UNDEFINED = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")

LOADER = r"""
import importlib.util, json, os, sys
before = set(sys.modules)
inputs = json.loads(sys.argv[1])
out = {}
try:
    sys.path.insert(0, os.getcwd())
    spec = importlib.util.spec_from_file_location("predict", "predict.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["predict"] = module
    spec.loader.exec_module(module)
    for args in inputs:
        try:
            module.predict(**args)
        except Exception as error:
            if "is not defined" in repr(error) or isinstance(error, NameError):
                raise
            out.setdefault("raised", []).append(type(error).__name__ + ": " + str(error)[:200])
except BaseException as error:
    chain, seen = [], error
    while seen is not None and len(chain) < 10:
        chain.append(type(seen).__name__ + ": " + str(seen)[:500])
        seen = seen.__cause__ or seen.__context__
    out["error"] = chain
here = os.getcwd() + os.sep
out["modules"] = sorted({
    name.split(".")[0]
    for name, mod in list(sys.modules.items())
    if name not in before and not (getattr(mod, "__file__", None) or here).startswith(here)
})
print(MARKER + json.dumps(out))
""".replace("MARKER", repr(MARKER))


@dataclass
class Loaded:
    """What loading the bundle in a clean interpreter showed."""

    undefined: str | None = None
    """A name the module lacks (NameError while loading or calling predict)."""
    error: str | None = None
    modules: list[str] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)
    """What predict raised on golden inputs (not a load failure; the build's gate decides)."""


def load_in_clean_interpreter(files: dict[str, bytes], inputs: list[Any]) -> Loaded:
    """Write the bundle to a temporary folder, import it in a new process, call predict."""
    with tempfile.TemporaryDirectory(prefix="jupyter-deploy-verify-") as folder:
        root = Path(folder)
        for relative, data in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", LOADER, json.dumps(inputs)],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise CompileError(
                f"predict.py did not load and answer within {TIMEOUT:.0f} s in a clean "
                "interpreter: make loading faster (e.g. smaller artifacts)."
            ) from None
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CompileError(f"predict.py crashed the interpreter that loaded it: {last}")
    report = json.loads(lines[-1][len(MARKER) :])
    loaded = Loaded(modules=list(report.get("modules", [])), raised=report.get("raised", []))
    chain = report.get("error") or []
    for text in chain:
        match = _UNDEFINED.search(text)
        if match:
            loaded.undefined = match.group(1)
            break
    if chain:
        loaded.error = chain[0]
    return loaded
