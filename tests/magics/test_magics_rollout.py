"""`%deploy --canary N`, `%deploy split|promote|abort NAME` in a real kernel, real builder."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from magics_helpers import Builder, live_url, notebook, post_predict, run, shown

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed"),
]

CELLS = [
    "%load_ext jupyter_deploy",
    "def predict(x: int) -> int:\n    return x * 2",
    'example = {"x": 1}',
    "%deploy predict --name magic-canary",  # 4
    "def predict(x: int) -> int:\n    return x * 3",
    "%deploy predict --name magic-canary --canary 50",  # 6
    "%deploy split magic-canary",  # 7
    "%deploy promote magic-canary",  # 8
    "%deploy abort magic-canary",  # 9
]


def test_a_canary_from_a_notebook_is_shown_and_promoted(
    magics_builder: Builder, tmp_path: Any
) -> None:
    # Given a live version 1, When a 50% canary of version 2 is deployed, shown and promoted
    nb = run(notebook(*CELLS), magics_builder.env(), tmp_path)
    outs = [shown(cell) for cell in nb.cells]
    for number in (4, 6, 7, 8):
        assert outs[number - 1].errors == [] and outs[number - 1].stderr == "", outs[
            number - 1
        ].everything
    # Then the canary went live at the same URL, the split showed both versions, and the
    # promotion left version 2 alone on the stable URL with no router
    url = live_url(outs[3].stdout)
    assert live_url(outs[5].stdout) == url
    assert "canary: version 2 gets 50% of requests" in outs[6].text
    assert "stable    v1" in outs[6].text and "candidate v2" in outs[6].text
    assert "magic-canary: promoted, version 2 live" in outs[7].text
    assert post_predict(url, {"x": 2}) == (200, {"prediction": 6})
    assert magics_builder.client().deployment("magic-canary")["split"] is None
    # And aborting when nothing runs is one clear line, not a traceback
    assert "no canary or shadow running" in outs[8].stderr and outs[8].errors == []
