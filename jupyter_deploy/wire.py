"""The wire vocabulary every Python part shares: build phases, statuses and the name rule.

The builder writes these words, the OpenAPI document lists them, and the client, the server
extension, `%deploy` and the CLI read them. The panel takes names from the server (the preview
answer carries the default name) and phases from its wire types, which a test compares with
these. Nothing here imports more than the standard library and `errors`.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Any

from jupyter_deploy.errors import InvalidRequest

Json = dict[str, Any]
"""A JSON object as the wire carries it."""

PHASES = ("queued", "building", "starting", "testing", "live")
"""The phases of a build that succeeds, in order."""
FAILED = "failed"
ALL_PHASES = (*PHASES, FAILED)
FINAL_PHASES = frozenset({"live", FAILED})
"""A build in one of these phases will not change again."""

DEPLOYMENT_STATUSES = ("live", "building", "failed", "stopped", "restarting", "crashed")
"""`restarting`/`crashed`: the live version's process exited (the build service restarts it);
`failed` with something live: it could not be brought back when the build service started."""
VERSION_STATUSES = ("building", "live", "retired", "failed")
BUILD_KINDS = ("build", "rollback", "restart")
"""`restart`: the live version started again with a new environment (keys, secrets), no rebuild."""

REPRODUCED = re.compile(r"\b(\d+) notebook answers? reproduced\b")
"""The testing phase's line (build log) saying how many golden cases the new service answered as
the notebook did; the text progress of `%deploy` and the CLI shows it."""


def reproduced_line(count: int) -> str:
    """`N notebook answers reproduced`, as the testing phase logs it."""
    return f"{count} notebook answer{'s' * (count != 1)} reproduced"


NAME_MAX = 63
_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_UNSAFE = re.compile(r"[^a-z0-9]+")
NAME_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"


def is_name(name: object) -> bool:
    """True when `name` can name a deployment: a DNS label (URLs, images, Kubernetes objects)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(name: object) -> str:
    """`name` if it can name a deployment; InvalidRequest naming the rule otherwise."""
    if not is_name(name):
        raise InvalidRequest(f"{name!r} cannot name a deployment: use {NAME_RULE} (e.g. iris).")
    assert isinstance(name, str)
    return name


def default_name(path: str | None) -> str:
    """The deployment name for a notebook (or function) name: `My Iris.ipynb` -> `my-iris`.

    Accents are dropped (`modèle` -> `modele`), every other run of characters outside
    [a-z0-9] becomes one '-', and the result is cut to 63 characters with no '-' at either end;
    `model` when nothing is left. Digits first are fine (`2024 model.ipynb` -> `2024-model`).
    """
    stem = PurePosixPath((path or "").replace("\\", "/")).name
    if stem.lower().endswith(".ipynb"):
        stem = stem[: -len(".ipynb")]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("-", ascii_stem.lower()).strip("-")
    return name[:NAME_MAX].rstrip("-") or "model"
