"""Adaptive batching: concurrent /predict calls grouped into one `predict_batch` call.

An idle service calls at once (no added wait for a lone request). Requests that arrive while
a batch runs queue up and go together in the next call, up to `max_batch`; when several are
already waiting, the dispatcher lingers up to `max_wait` for more. If a batch call raises,
each input is retried alone with `predict`, so every caller gets its own answer or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .metrics import Metrics
from .slots import Expired, Slots, deadline


class Exited(Exception):
    """predict called sys.exit() or raised another non-Exception: an error, not an exit."""


def shielded(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """function(*args, **kwargs), with SystemExit and the like turned into Exited."""
    try:
        return function(*args, **kwargs)
    except (SystemExit, KeyboardInterrupt, GeneratorExit) as error:
        raise Exited(f"{type(error).__name__}: {error}") from error


def over_items(predict_batch: Callable[[list[Any]], Any], items: Any) -> Callable[..., Any]:
    """predict_batch as the batcher calls it (a list of argument dicts).

    deploy.json's `batch_items` says what the notebook's predict_batch takes: argument dicts
    (as is), or the values of predict's one parameter (`{"shape": "values", "parameter": p}`).
    """
    if not isinstance(items, dict) or items.get("shape") != "values":
        return predict_batch
    parameter = str(items["parameter"])

    def over_values(inputs: list[dict[str, Any]]) -> Any:
        return predict_batch([item.get(parameter) for item in inputs])

    return over_values


class Batcher:
    """Groups single inputs into batch calls on a worker thread."""

    def __init__(
        self,
        predict_batch: Callable[[list[dict[str, Any]]], Any],
        predict: Callable[..., Any],
        slots: Slots,
        metrics: Metrics,
        max_batch: int,
        max_wait: float,
    ) -> None:
        self.predict_batch = predict_batch
        self.predict = predict
        self.slots = slots  # calls expire at the slots' time limit: a hung batch frees the
        self.metrics = metrics  # dispatcher then
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def submit(self, item: dict[str, Any]) -> asyncio.Future[Any]:
        """The output for one input (fails with what predict raised for it, or Expired once
        the time limit has passed, counted from now)."""
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        future = deadline(self.slots.timeout)
        self.queue.put_nowait((item, future))
        return future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            self._drain(batch)
            if 1 < len(batch) < self.max_batch and self.max_wait:
                await asyncio.sleep(self.max_wait)
                self._drain(batch)
            live = [(item, future) for item, future in batch if not future.done()]
            if live:
                await self._call(live)

    def _drain(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        while len(batch) < self.max_batch and not self.queue.empty():
            batch.append(self.queue.get_nowait())

    async def _call(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        items = [item for item, _ in batch]
        self.metrics.batches.observe(len(items))
        try:
            outputs = await self.slots.call("predict_batch", self._batch, items)
        except Expired:
            for _, future in batch:  # no retry one by one: each would hang again
                if not future.done():
                    future.set_exception(Expired())
            return
        except Exception:
            outputs = None
        if outputs is not None:
            for (_, future), output in zip(batch, outputs, strict=True):
                if not future.done():
                    future.set_result(output)
            return
        for item, future in batch:
            try:
                result = await self.slots.call("predict", self._one, item)
            except Exception as error:
                if not future.done():
                    future.set_exception(error)
            else:
                if not future.done():
                    future.set_result(result)

    def _one(self, item: dict[str, Any]) -> Any:
        return shielded(self.predict, **item)

    def _batch(self, items: list[dict[str, Any]]) -> list[Any]:
        outputs = list(shielded(self.predict_batch, items))
        if len(outputs) != len(items):
            raise ValueError(f"predict_batch returned {len(outputs)} outputs for {len(items)}")
        return outputs
