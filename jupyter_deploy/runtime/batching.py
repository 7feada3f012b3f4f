"""Adaptive batching: concurrent /predict calls grouped into one `predict_batch` call.

An idle service calls at once (no added wait for a lone request). Requests that arrive while
a batch runs queue up and go together in the next call, up to `max_batch`; when several are
already waiting, the dispatcher lingers up to `max_wait` for more. If a batch call raises,
each input is retried alone with `predict`, so every caller gets its own answer or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from .metrics import Metrics


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
        executor: Executor,
        metrics: Metrics,
        max_batch: int,
        max_wait: float,
        timeout: float | None = None,
    ) -> None:
        self.predict_batch = predict_batch
        self.predict = predict
        self.executor = executor
        self.metrics = metrics
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.timeout = timeout  # a batch call that hangs frees the dispatcher after this
        self.queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Any]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, item: dict[str, Any]) -> Any:
        """The output for one input (raises what predict raised for it)."""
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((item, future))
        return await future

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
        loop = asyncio.get_running_loop()
        items = [item for item, _ in batch]
        self.metrics.batches.observe(len(items))
        try:
            work = loop.run_in_executor(self.executor, self._batch, items)
            outputs = await asyncio.wait_for(work, self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            for _, future in batch:  # no retry one by one: each would hang again
                if not future.done():
                    future.set_exception(TimeoutError("predict_batch took too long"))
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
                result = await loop.run_in_executor(self.executor, self._one, item)
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
