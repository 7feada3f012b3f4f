"""The notebook -> module compiler: plain Python, no web server and no kernel in it.

plan = analyze(nb)                      # what predict needs; plan.artifact_names to capture
values = capture_namespace(ns, names)   # or: decode_capture(kernel output of capture_code)
bundle = compile_notebook(nb, name="iris", artifacts=values)
bundle.write("build/iris"); bundle.tarball()
"""

from __future__ import annotations

from jupyter_deploy.compiler.bundle import (
    Bundle,
    analyze,
    compile_notebook,
    load_notebook,
)
from jupyter_deploy.compiler.capture import capture_code, capture_namespace, decode_capture
from jupyter_deploy.compiler.closure import Plan

__all__ = [
    "Bundle",
    "Plan",
    "analyze",
    "capture_code",
    "capture_namespace",
    "compile_notebook",
    "decode_capture",
    "load_notebook",
]
