"""Fixtures shared by the tests: a real ``rmsewatch serve`` on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rmsewatch.service.process import ServerProcess

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start real ``rmsewatch serve`` processes on fresh stores; stop them after."""
    started: list[ServerProcess] = []

    def start(*args: str, db: Path | None = None) -> ServerProcess:
        server = ServerProcess(
            db or tmp_path / f"store{len(started)}.duckdb", args=list(args)
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
