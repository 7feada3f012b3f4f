"""Predict slots: a fixed set of threads behind a bounded queue, and the calls that hung.

`predict` never runs on the event loop: the loop only parses, validates and answers, so
/healthz and /readyz answer within milliseconds whatever `predict` does, and the time limit
always holds (the caller gets its 504; the thread finishes the call in its own time).

A call whose caller gave up while it ran is *hung*: its slot stays taken until the call
returns. Hung calls are counted; a slot hung longer than the stuck limit asks for the worker
to be replaced (see server.py), and when no slot is free and the queue is full, new work is
refused at once with 503 instead of waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from .inline import Inline

HANDOFF = 0.005
"""Seconds a slot waits for the running call before it runs its own call alongside.

Fast calls run one at a time: several threads running numpy or scikit-learn at once trade the
GIL back and forth at every release (64-row batches, single runs on a loaded machine with
OPENBLAS_NUM_THREADS=1: 0.75x of the bare app's CPU per request with 4 slots, 1.14x with 1;
4 slots taking turns: 719 -> 1,355 req/s). A call slower than this (waiting on I/O, or hung)
no longer holds the others back, unless calls are CPU-bound (see `Slots.turn_wait`)."""
MAX_TURN_WAIT = 1.0
"""Seconds a slot waits at most for its turn behind CPU-bound calls (a spinning, hung call
holds the others back no longer than this)."""


WAIT_CALLS = 2
"""With the automatic queue-wait limit: how many calls' time (the recent mean) the oldest
queued call may have waited before new work is refused."""
MIN_WAIT = 0.005
"""The automatic limit is never shorter than this (seconds)."""


class Refused(Exception):
    """No room for more work: `code` says why (`overloaded` or `no_free_slot`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Expired(Exception):
    """The call outlived its time limit (its caller gets 504; a running call is now hung)."""


class _Call:
    """One call for a slot thread, answered on the event loop.

    Its future carries its own deadline (one timer, no wrapping task: asyncio.wait_for cost
    single-row requests about a fifth of their CPU). At the deadline the future fails with
    Expired; a call still queued is then skipped, a running one is counted as hung.
    """

    __slots__ = (
        "args",
        "finished",
        "fn",
        "future",
        "hung_since",
        "key",
        "kwargs",
        "owner",
        "queued_at",
        "started",
    )

    def __init__(
        self, owner: Slots, key: str, fn: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        self.owner, self.key, self.fn, self.args, self.kwargs = owner, key, fn, args, kwargs
        self.future: asyncio.Future[Any] = deadline(owner.timeout)
        self.future.add_done_callback(self._given_up)
        self.started = self.finished = False
        self.hung_since: float | None = None
        self.queued_at = time.monotonic()

    def _given_up(self, future: asyncio.Future[Any]) -> None:
        if self.started and not self.finished:  # expired or cancelled while it ran
            self.hung_since = time.monotonic()
            self.owner.hung_total += 1

    def run(self) -> None:
        """In a slot thread: the call, then its outcome handed to the event loop."""
        if self.future.done():
            return  # its caller gave up before it started
        self.started = True
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            result, error = self.fn(*self.args, **self.kwargs), None
        except BaseException as raised:
            result, error = None, raised
        self.finished = True
        seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.future.get_loop().call_soon_threadsafe(self._settle, result, error, seconds, cpu)

    def _settle(self, result: Any, error: BaseException | None, seconds: float, cpu: float) -> None:
        owner = self.owner
        owner.inline.observe(self.key, seconds)
        share = min(cpu / seconds, 1.0) if seconds > 0 else 1.0
        if owner.mean_call:
            owner.mean_call += (seconds - owner.mean_call) * 0.1
            owner.cpu_share += (share - owner.cpu_share) * 0.1
        else:
            owner.mean_call, owner.cpu_share = seconds, share
        _settle(self.future, result, error)


def deadline(seconds: float | None) -> asyncio.Future[Any]:
    """A future of the running loop that fails with Expired after `seconds` (None: never)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    if seconds:
        timer = loop.call_later(seconds, _expire, future)
        future.add_done_callback(lambda _: timer.cancel())
    return future


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(Expired())


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Slots:
    """`count` daemon threads running calls from one queue; admission in front of it."""

    def __init__(
        self,
        count: int,
        max_queue: int,
        timeout: float | None = None,
        inline_budget: float = 0,
        max_wait: float | None = None,
    ) -> None:
        self.count, self.max_queue, self.timeout = count, max_queue, timeout
        self.max_wait = max_wait  # the oldest queued call's longest wait; None: automatic
        self.waiting: deque[_Call] = deque()  # calls queued for a slot, oldest first
        self.mean_call = 0.0  # seconds a call takes in a slot (moving average)
        self.cpu_share = 0.0  # of that time, the share its thread spent on a CPU
        self.inline = Inline(inline_budget)
        self.jobs: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self.current: list[_Call | None] = [None] * count
        self.pending = 0  # admitted calls not answered yet (changed on the event loop only)
        self.turn = threading.Lock()  # fast calls take turns (see HANDOFF)
        self.hung_total = 0
        self.threads = [
            threading.Thread(target=self._work, args=(i,), name=f"predict-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def call(
        self, key: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> asyncio.Future[Any]:
        """fn(*args, **kwargs) as an asyncio future (from the loop) that fails with Expired
        once the time limit has passed: in the next free slot, or at once on the loop when
        calls of `key` have proven fast (see inline.py)."""
        if self.inline.ready(key):
            done, result, error = self.inline.run(key, fn, args, kwargs)
            if done:
                future = asyncio.get_running_loop().create_future()
                _settle(future, result, error)
                return future
        call = _Call(self, key, fn, args, kwargs)
        self.waiting.append(call)
        self.jobs.put(call)
        return call.future

    def shutdown(self) -> None:
        """Stop the threads once they are idle (a hung one is a daemon: it does not hold exit)."""
        for _ in self.threads:
            self.jobs.put(None)

    def _work(self, index: int) -> None:
        keep_alarms_off()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            self.current[index] = job
            turn = self.turn.acquire(timeout=self.turn_wait())
            try:
                job.run()
            finally:
                if turn:
                    self.turn.release()
                self.current[index] = None

    def turn_wait(self) -> float:
        """How long a slot waits for the running call before it runs its own alongside.

        Calls that mostly wait (I/O) run side by side after HANDOFF. CPU-bound calls gain
        nothing from running together (they share one GIL, so each takes as much longer) and
        slow the event loop down, so they take turns: a 5 ms model offered 4x its capacity
        kept the p99 of admitted calls at 6.6x the unloaded one this way, 24x side by side."""
        if self.cpu_share < 0.5:
            return HANDOFF
        return min(max(HANDOFF, 4 * self.mean_call), MAX_TURN_WAIT)

    # --- state ---------------------------------------------------------------------------

    def stuck(self) -> list[float]:
        """Since when each hung call (still running after its caller gave up) has been hung."""
        jobs = list(self.current)
        return [job.hung_since for job in jobs if job is not None and job.hung_since is not None]

    def busy(self) -> int:
        """Slots running a call now."""
        return sum(1 for job in list(self.current) if job is not None)

    def refusal(self) -> Refused | None:
        """Why new work would be refused now, or None when there is room."""
        stuck = len(self.stuck())
        if stuck >= self.count:
            return Refused(
                "no_free_slot",
                f"All {self.count} predict slots are stuck on calls that outlived their "
                "time limit; retry later.",
            )
        if self.pending >= self.count - stuck + self.max_queue:
            return Refused(
                "overloaded",
                f"The service is at capacity ({self.count - stuck} running, "
                f"{self.max_queue} queued); retry in a moment.",
            )
        waited, limit = self.queue_wait(), self.wait_limit()
        if limit and waited > limit:
            return Refused(
                "overloaded",
                f"The service is at capacity: calls wait {waited * 1000:.0f} ms for a slot "
                f"(the limit is {limit * 1000:.0f} ms); retry in a moment.",
            )
        return None

    def queue_wait(self) -> float:
        """How long the oldest call still queued for a slot has waited (0: none queued)."""
        waiting = self.waiting
        while waiting and (waiting[0].started or waiting[0].future.done()):
            waiting.popleft()
        return time.monotonic() - waiting[0].queued_at if waiting else 0.0

    def wait_limit(self) -> float:
        """The longest the oldest queued call may wait before new work is refused (0: none).

        A queue that stands (its head keeps waiting) only adds latency: refusing new work
        then keeps the wait of what is admitted near this limit, while a burst that arrives
        at once still queues up to `max_queue` (the idea of CoDel)."""
        if self.max_wait is not None:
            return self.max_wait
        return max(WAIT_CALLS * self.mean_call, MIN_WAIT) if self.mean_call else 0.0

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Count one request as pending while it runs (its caller has asked `refusal()` just
        before: a second look could differ, since queue waits grow with the clock)."""
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1


def in_thread(fn: Callable[[], Any]) -> Future[Any]:
    """fn() in a daemon thread of its own (loading predict.py: a hang there holds no exit)."""
    future: Future[Any] = Future()

    def run() -> None:
        keep_alarms_off()  # threads the model's import starts inherit this
        try:
            future.set_result(fn())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name="load", daemon=True).start()
    return future


def keep_alarms_off() -> None:
    """Block SIGALRM in this thread: the alarm that holds an inline call to its budget goes to
    the event loop's thread only, and never interrupts a system call in a slot (EINTR)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
