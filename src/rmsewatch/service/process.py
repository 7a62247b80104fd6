"""Run ``rmsewatch serve`` as a child process on loopback and wait until healthy.

The demo and the tests start the real service this way, so they exercise the
same process, server and store a user runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from rmsewatch.errors import RmsewatchError

__all__ = ["ServerProcess", "free_port"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``rmsewatch serve`` in a child process, stopped on exit.

    Parameters
    ----------
    db
        The store file.
    port
        The port on 127.0.0.1; 0 picks a free one.
    args
        More ``serve`` options, e.g. ``["--label-ttl", "2d"]``.
    log
        Where the server's log goes; a file next to the store by default.
    """

    def __init__(
        self,
        db: Path,
        *,
        port: int = 0,
        args: list[str] | None = None,
        log: Path | None = None,
        startup_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.port = port or free_port()
        self.args = args or []
        self.log_path = log or db.with_suffix(".log")
        self.startup_seconds = startup_seconds
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Start the server and return once ``/healthz`` answers."""
        command = [
            sys.executable, "-m", "rmsewatch", "serve",
            "--db", str(self.db), "--port", str(self.port), *self.args,
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RmsewatchError(
                    f"rmsewatch serve exited with code {self._process.returncode}; "
                    f"see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RmsewatchError(
            f"rmsewatch serve did not answer within {self.startup_seconds:.0f} s; "
            f"see {self.log_path}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def wait(self) -> int:
        """Block until the server exits (e.g. on Ctrl-C) and return its code."""
        if self._process is None:
            return 0
        return self._process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
