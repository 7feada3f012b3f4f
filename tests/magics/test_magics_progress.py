"""The two progress views of a build: plain text lines and the ipywidgets panel."""

from __future__ import annotations

import io
from typing import Any

import pytest

from jupyter_deploy.magics.progress import TextProgress, WidgetProgress, choose, failure_line


def build(phase: str, **extra: Any) -> dict[str, Any]:
    """A Build as the builder reports it."""
    return {"id": "b1", "name": "iris", "version": 2, "phase": phase, "url": None, **extra}


def test_text_progress_prints_one_line_per_phase_and_the_url_last() -> None:
    # Given a text view
    out = io.StringIO()
    view = TextProgress(out)
    # When a build goes through every phase (one reported twice)
    view.start("Deploying iris")
    for phase in ("queued", "building", "building", "starting", "testing"):
        view.phase(build(phase))
    view.done(build("live", url="http://127.0.0.1:9000"))
    # Then each phase shows once, and the URL is on the last line
    lines = out.getvalue().splitlines()
    assert lines[0] == "Deploying iris"
    assert [line.split()[0] for line in lines[1:-1]] == [
        "queued",
        "building",
        "starting",
        "testing",
        "live",
    ]
    assert lines[-1] == "Live: http://127.0.0.1:9000"


def test_failure_line_names_the_build_the_phase_and_the_reason() -> None:
    # Given a build that failed its smoke test
    failed = build("failed", error={"phase": "testing", "message": "predict raised ValueError"})
    # When it is described
    line = failure_line(failed)
    # Then one line says which version failed where, why, and where the log is
    assert line == (
        "iris version 2 failed while testing: predict raised ValueError "
        "(the build log: %deploy logs iris)"
    )
    assert "\n" not in line


def test_widget_progress_moves_the_bar_and_links_the_url() -> None:
    # Given the widget view (no front end needed to hold its state)
    view = WidgetProgress()
    # When the build reaches testing, then goes live
    view.phase(build("testing"))
    assert view.bar.value == 3
    view.log("installing\n")
    view.done(build("live", url="http://127.0.0.1:9000"))
    # Then the bar is full and green, the URL is a link, the log is kept folded
    assert (view.bar.value, view.bar.bar_style) == (5, "success")
    assert 'href="http://127.0.0.1:9000"' in view.link.value
    assert view.logs.value == "installing\n" and view.folder.selected_index is None


def test_widget_progress_on_failure_shows_the_reason_and_unfolds_the_log() -> None:
    # Given the widget view
    view = WidgetProgress()
    # When the build fails while starting
    view.done(build("failed", error={"phase": "starting", "message": "port in use"}))
    # Then the bar is red, the reason shows, the log opens, the failing chip is red
    assert view.bar.bar_style == "danger"
    assert "port in use" in view.link.value and view.folder.selected_index == 0
    assert "#c62828;color:white" in view.chips.value.split("starting")[0].rsplit("<span", 1)[1]


@pytest.mark.parametrize(("mode", "kind"), [("text", TextProgress), ("widget", WidgetProgress)])
def test_mode_setting_forces_the_view(mode: str, kind: type, monkeypatch: Any) -> None:
    # Given JUPYTER_DEPLOY_PROGRESS set
    monkeypatch.setenv("JUPYTER_DEPLOY_PROGRESS", mode)
    # When a view is chosen, Then it is the one asked for
    assert isinstance(choose(), kind)


def test_auto_mode_outside_a_kernel_is_text(monkeypatch: Any) -> None:
    # Given no kernel (this test process) and no setting
    monkeypatch.delenv("JUPYTER_DEPLOY_PROGRESS", raising=False)
    # When a view is chosen, Then it is text
    assert isinstance(choose(), TextProgress)
