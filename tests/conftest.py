"""Shared pytest set-up. Area helpers live beside the tests as `<area>_helpers.py`."""

from __future__ import annotations

pytest_plugins = ["pytest_jupyter.jupyter_server"]
