"""Scrapes that sum every worker never go backwards: a slow or gone sibling keeps its counts."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

from jupyter_deploy.runtime.metrics import Metrics


def total(text: bytes) -> int:
    """model_requests_total for /predict 200 in one exposition."""
    for line in text.decode().splitlines():
        if line.startswith('model_requests_total{route="/predict",status="200"}'):
            return int(line.rsplit(" ", 1)[1])
    return 0


def sibling(answered: int) -> Metrics:
    """Another worker's counts, with 3 busy slots."""
    metrics = Metrics()
    for _ in range(answered):
        metrics.record("/predict", 200, 0.001)
    metrics.gauges = lambda: {"model_busy_slots": ("gauge: busy", 3)}
    return metrics


async def answering(metrics: Metrics, path: Path) -> asyncio.AbstractServer:
    """`metrics` answered on a Unix socket at `path`, as a sibling process answers."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(json.dumps(metrics.snapshot()).encode())
        await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(answer, path=str(path))


def test_a_sibling_that_stops_answering_or_crashes_keeps_its_counts(tmp_path: Path) -> None:
    async def scenario() -> None:
        # Given this worker (5 answers) and a sibling (40 answers) answering over its socket
        own = Metrics()
        own.gauges = lambda: {"model_busy_slots": ("gauge: busy", 1)}
        await own.answer_peers(tmp_path)
        for _ in range(5):
            own.record("/predict", 200, 0.001)
        other = sibling(40)
        path = tmp_path / "4242.sock"
        server = await answering(other, path)
        first = await own.render_all()
        assert total(first) == 45
        assert b"model_busy_slots 4" in first
        # When the sibling is too busy to answer (its socket accepts, and says nothing)
        server.close()
        await server.wait_closed()
        path.unlink()
        mute = socket.socket(socket.AF_UNIX)
        mute.bind(str(path))
        mute.listen(8)
        # Then a scrape still counts it, with the last figures it gave
        assert total(await own.render_all()) == 45
        # When it crashes (its parent removes the socket; no final counts were left)
        mute.close()
        path.unlink()
        last = await own.render_all()
        # Then its answers still count (a counter never drops), and its gauges no longer do
        assert total(last) == 45
        assert b"model_busy_slots 1\n" in last

    asyncio.run(scenario())


def test_an_exiting_worker_counts_once_while_its_socket_and_final_file_both_exist(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        # Given a sibling with 7 answers that has written its final file but still answers
        own = Metrics()
        await own.answer_peers(tmp_path)
        other = sibling(7)
        server = await answering(other, tmp_path / "777.sock")
        snapshot = other.snapshot()
        snapshot["gauges"] = {}
        (tmp_path / "777.json").write_text(json.dumps(snapshot))
        # When this worker takes a scrape
        text = await own.render_all()
        # Then the sibling's answers count once
        assert total(text) == 7
        server.close()

    asyncio.run(scenario())
