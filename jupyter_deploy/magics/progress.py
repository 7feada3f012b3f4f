"""How a build's progress shows: an ipywidgets panel in a live notebook, plain lines elsewhere.

Widgets need a front end that renders them (JupyterLab, Notebook); nbclient, nbconvert and
terminal IPython only keep text, so there the same events print one line per phase.
"""

from __future__ import annotations

import html
import os
import sys
import time
from typing import Any, Protocol

from jupyter_deploy.wire import FINAL_PHASES, PHASES, REPRODUCED, Json

MODE_ENV = "JUPYTER_DEPLOY_PROGRESS"


class Progress(Protocol):
    """What the deploy flow tells whoever watches it."""

    def start(self, title: str) -> None:
        """A build was created (or is about to be)."""

    def phase(self, build: Json) -> None:
        """The build moved to a new phase (or got its URL)."""

    def log(self, text: str) -> None:
        """New build log text."""

    def tick(self) -> None:
        """Called on every poll, to refresh the elapsed time."""

    def done(self, build: Json) -> None:
        """The build is live or failed."""


def choose(mode: str | None = None) -> Progress:
    """The widget view where a front end can render it, else the text view."""
    wanted = (mode or os.environ.get(MODE_ENV, "auto")).lower()
    if wanted == "widget" or (wanted == "auto" and widgets_visible()):
        try:
            return WidgetProgress()
        except ImportError:
            pass
    return TextProgress()


def widgets_visible() -> bool:
    """True in a kernel a widget-rendering front end talks to (not nbclient, not a terminal)."""
    try:
        from IPython.core.getipython import get_ipython
        from ipywidgets import Widget
    except ImportError:
        return False
    shell = get_ipython()  # type: ignore[no-untyped-call]
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    if getattr(Widget, "_control_comm", None) is not None:
        return True
    return bool(os.environ.get("JPY_SESSION_NAME"))


def _elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"


class TextProgress:
    """One line per phase on stdout; the URL on the last line."""

    def __init__(self, stream: Any = None, url_prefix: str = "Live: ") -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.url_prefix = url_prefix
        self.started = time.monotonic()
        self.printed: set[str] = set()

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def start(self, title: str) -> None:
        """Print what is being deployed."""
        self.started = time.monotonic()
        self._print(title)

    def phase(self, build: Json) -> None:
        """Print the new phase with the time since the start."""
        seen = [str(p.get("phase")) for p in build.get("phases") or []]
        for phase in [*seen, str(build.get("phase"))]:
            if phase not in self.printed and phase not in FINAL_PHASES:
                self._print(f"  {phase:<9} {_elapsed(self.started)}")
                self.printed.add(phase)

    def log(self, text: str) -> None:
        """Build logs stay out of the text view (`%deploy logs NAME` shows them), but for the
        testing phase's count of notebook answers reproduced."""
        for found in REPRODUCED.finditer(text):
            self._print(f"  testing   {found.group(0)}")

    def tick(self) -> None:
        """Nothing to refresh in text."""

    def done(self, build: Json) -> None:
        """Print the live URL (a failure is reported by the caller, as an error line)."""
        if build.get("phase") == "live":
            self._print(f"  live      {_elapsed(self.started)}")
            self._print(f"{self.url_prefix}{build.get('url')}")


def failure_line(build: Json, logs_command: str = "%deploy logs") -> str:
    """One line saying which phase of which build failed, and why."""
    error = build.get("error") or {}
    where = error.get("phase") or build.get("phase")
    message = error.get("message") or "no reason given"
    name = build.get("name")
    return (
        f"{name} version {build.get('version')} failed while {where}: {message} "
        f"(the build log: {logs_command} {name})"
    )


class WidgetProgress:
    """A small panel: phase chips, a progress bar, elapsed time, the URL, logs folded."""

    def __init__(self) -> None:
        import ipywidgets as w

        self.started = time.monotonic()
        self.title = w.HTML()
        self.chips = w.HTML(_chips(None, failed=False))
        self.bar = w.IntProgress(value=0, min=0, max=len(PHASES), bar_style="info")
        self.clock = w.Label("0.0 s")
        self.link = w.HTML()
        box = w.Layout(width="100%", height="14em")
        self.logs = w.Textarea(value="", disabled=True, layout=box)
        self.folder = w.Accordion(children=[self.logs], selected_index=None)
        self.folder.set_title(0, "Build log")
        self.view = w.VBox(
            [self.title, w.HBox([self.chips, self.bar, self.clock]), self.link, self.folder]
        )
        self.view.add_class("jp-deploy-magic")

    def start(self, title: str) -> None:
        """Show the panel under the cell."""
        from IPython.display import display

        self.started = time.monotonic()
        self.title.value = f"<b>{html.escape(title)}</b>"
        display(self.view)  # type: ignore[no-untyped-call]

    def phase(self, build: Json) -> None:
        """Light the chips up to the current phase and move the bar."""
        phase = str(build.get("phase"))
        failed = phase == "failed"
        reached = str((build.get("error") or {}).get("phase") or "") if failed else phase
        self.chips.value = _chips(reached, failed=failed)
        if phase in PHASES:
            self.bar.value = PHASES.index(phase) + (1 if phase == "live" else 0)
        self.tick()

    def log(self, text: str) -> None:
        """Append build log text (folded until something fails)."""
        self.logs.value += text

    def tick(self) -> None:
        """Refresh the elapsed time."""
        self.clock.value = _elapsed(self.started)

    def done(self, build: Json) -> None:
        """Show the live URL as a link, or the reason in red with the log unfolded."""
        self.phase(build)
        if build.get("phase") == "live":
            url = html.escape(str(build.get("url")))
            self.bar.bar_style = "success"
            self.link.value = (
                f'Live: <a href="{url}" target="_blank" '
                f'style="color:#1565c0;text-decoration:underline">{url}</a>'
            )
        else:
            self.bar.bar_style = "danger"
            reason = html.escape(failure_line(build))
            self.link.value = f'<span style="color:#c62828">{reason}</span>'
            self.folder.selected_index = 0


def _chips(current: str | None, failed: bool) -> str:
    reached = PHASES.index(current) if current in PHASES else -1
    parts = []
    for index, phase in enumerate(PHASES):
        if failed and index == reached:
            style = "background:#c62828;color:white"
        elif index < reached or current == "live":
            style = "background:#2e7d32;color:white"
        elif index == reached:
            style = "background:#1565c0;color:white"
        else:
            style = "background:#e0e0e0;color:#555"
        parts.append(
            f'<span style="{style};border-radius:10px;padding:1px 8px;margin-right:4px;'
            f'font-size:0.85em">{phase}</span>'
        )
    return "".join(parts)
