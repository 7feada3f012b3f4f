"""JupyterLab for the Galata tests: the embedded build service with fast venvs."""

import os
from tempfile import mkdtemp

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined]  # noqa: F821
configure_jupyter_server(c)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("JUPYTER_DEPLOY_UI_PORT", "18931"))
c.ServerApp.allow_root = True
c.LabApp.dev_mode = False

# The build service runs embedded, with its state in a fresh folder, and builds
# environments on top of this Python's packages (no downloads: fast and offline).
c.DeployExtension.embedded_state_dir = mkdtemp(prefix="jupyter-deploy-ui-state-")
c.DeployExtension.embedded_builder_options = {"reuse_site_packages": True}
