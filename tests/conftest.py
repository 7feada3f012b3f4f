"""Shared pytest set-up. Area helpers live beside the tests as `<area>_helpers.py`."""

from __future__ import annotations

# magics_helpers: the session build service of the magics and examples tests, started once.
pytest_plugins = ["pytest_jupyter.jupyter_server", "magics_helpers", "builder_helpers"]
