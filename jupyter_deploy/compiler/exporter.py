"""`jupyter nbconvert --to deploy NOTEBOOK`: the generated module, for review and diffs.

The whole bundle (artifacts, requirements, deploy.json) comes from `jupyter deploy export`;
this exporter writes only `NOTEBOOK.py`, the module a reviewer reads. With
`--DeployExporter.execute=True` it runs the notebook first to capture computed values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters import Exporter
from traitlets import Bool, Unicode

from jupyter_deploy.compiler.bundle import analyze, compile_notebook
from jupyter_deploy.compiler.execute import executed_notebook
from jupyter_deploy.compiler.session import compile_with_capture
from jupyter_deploy.wire import default_name


class DeployExporter(Exporter):  # type: ignore[misc]
    """Exports the deployable module that `predict` compiles to."""

    export_from_notebook = "Deploy module"
    output_mimetype = "text/x-python"

    execute = Bool(
        False, config=True, help="Run the notebook in a fresh kernel to capture computed values."
    )
    deploy_name = Unicode("", config=True, help="Deployment name (default: the notebook's).")

    def _file_extension_default(self) -> str:
        return ".py"

    def from_notebook_node(  # type: ignore[override]
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """The module's text for `nb`."""
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        metadata = resources.get("metadata", {})
        directory = Path(metadata.get("path") or ".")
        source = f"{metadata.get('name') or 'notebook'}.ipynb"
        options: dict[str, Any] = {
            "name": self.deploy_name or default_name(source),
            "source_path": source,
            "notebook_dir": directory,
        }
        if self.execute:
            with executed_notebook(nb_copy, directory, warn=self.log.warning) as kernel:
                bundle = compile_with_capture(nb_copy, kernel, **options)
            return bundle.module, resources
        names = analyze(nb_copy, source_path=source, directory=directory).artifact_names
        if names:
            self.log.warning(
                "%s loads %s from artifacts/, which this export does not write: use "
                "`jupyter deploy export --execute` for a deployable bundle.",
                source,
                ", ".join(names),
            )
        bundle = compile_notebook(nb_copy, preview=True, **options)
        return bundle.module, resources
