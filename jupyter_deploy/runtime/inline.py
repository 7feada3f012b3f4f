"""Calls proven fast run on the event loop itself, under an alarm that holds their budget.

A call in a slot thread costs more than the call: the loop and the slot take turns with the
GIL at every release inside numpy or scikit-learn, and each turn is a context switch (a 64-row
`predict_batch` cost about 40% more CPU in a slot than on the loop). So a call *key* (predict,
predict_batch, ...) whose last PROOF calls in slot threads each took under a quarter of the
budget runs on the loop. There an interval timer (SIGALRM) interrupts it once it has run for
the budget (JUPYTER_DEPLOY_INLINE_MS): the call is started again in a slot thread, where the
time limit holds as for any call, and that key never runs on the loop again in this process.
So health checks wait at most the budget, whatever predict does.

Two cases the alarm cannot interrupt, and what happens then: code that catches BaseException
swallows the interruption (the call is then banned from the loop once it returns); and C code
that never returns to Python holds the loop, and the GIL, until it does (on the loop or in a
slot thread alike). For that, `heartbeat` keeps re-arming faulthandler's watchdog (a C thread
that needs no GIL) while the loop turns: a loop held past its limit gets every thread's
traceback written to the log and the process ends (exit code 1), so that its parent or
supervisor replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PROOF = 20
"""Calls in a row, each under a quarter of the budget, before a key may run on the loop."""


class TooSlow(BaseException):
    """Raised inside a call on the event loop that has overrun its budget (a BaseException,
    so that predict's own `except Exception` does not swallow it)."""


class Inline:
    """The proofs, the alarm and the watch for calls on the event loop."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.fast: dict[str, int] = {}  # key -> fast calls in a row (observed on the loop)
        self.banned: set[str] = set()
        self.overruns = 0
        self.running_since: float | None = None  # an inline call in progress
        self.enabled = budget > 0 and hasattr(signal, "setitimer")
        self.armed = False

    def ready(self, key: str) -> bool:
        """May a call of `key` run on the loop now?"""
        return self.enabled and self.fast.get(key, 0) >= PROOF

    def observe(self, key: str, seconds: float) -> None:
        """A call of `key` took `seconds` (in a slot thread, or on the loop)."""
        if key in self.banned:
            return
        self.fast[key] = self.fast.get(key, 0) + 1 if seconds <= self.budget / 4 else 0

    def run(
        self, key: str, fn: Callable[..., Any], args: Any, kwargs: Any
    ) -> tuple[bool, Any, BaseException | None]:
        """(done, result, error) of fn on the loop; done is False when it overran its
        budget and was interrupted: run it again in a slot."""
        if not self.armed and not self._arm():
            return False, None, None
        started = time.perf_counter()
        try:
            try:
                self.running_since = time.monotonic()
                signal.setitimer(signal.ITIMER_REAL, self.budget)
                result, error = fn(*args, **kwargs), None
            except TooSlow:
                raise
            except BaseException as raised:
                result, error = None, raised
            finally:
                self.running_since = None
                signal.setitimer(signal.ITIMER_REAL, 0)
        except TooSlow:  # also when the alarm lands in the finally above
            self._ban(key, "was interrupted")
            return False, None, None
        seconds = time.perf_counter() - started
        if seconds > self.budget:  # it swallowed the interruption
            self._ban(key, f"took {seconds * 1000:.0f} ms")
        else:
            self.observe(key, seconds)
        return True, result, error

    def _ban(self, key: str, what: str) -> None:
        self.banned.add(key)
        self.fast.pop(key, None)
        self.overruns += 1
        print(
            f"{key} {what} on the event loop (over its budget of {self.budget * 1000:g} ms, "
            "JUPYTER_DEPLOY_INLINE_MS): it runs in a slot thread from now on",
            file=sys.stderr,
            flush=True,
        )

    def _arm(self) -> bool:
        """Install the alarm's handler (on the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            self.enabled = False  # signals reach the main thread only
            return False
        signal.signal(signal.SIGALRM, self._alarm)
        self.armed = True
        return True

    def _alarm(self, signum: int, frame: Any) -> None:
        if self.running_since is not None:
            self.running_since = None
            raise TooSlow


async def heartbeat(limit: float) -> None:
    """Re-arm faulthandler's watchdog for `limit` seconds while the loop turns; disarm it
    when cancelled (the service's shutdown)."""
    try:
        while True:
            faulthandler.dump_traceback_later(limit, exit=True)
            await asyncio.sleep(min(1.0, limit / 4))
    finally:
        with contextlib.suppress(Exception):
            faulthandler.cancel_dump_traceback_later()
