"""`tanso serve` in a child process, for end-to-end tests, benchmarks and soak runs.

The server is ready when uvicorn says on its stderr that it is listening (no polling, no
sleeps); stderr is then drained in a thread so the child never blocks on a full pipe.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A Tanso server on 127.0.0.1 with its own database URL and environment."""

    def __init__(
        self,
        database_url: str,
        cwd: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        role: str = "serve",
    ) -> None:
        self.port = port or free_port()
        environment = {
            **os.environ,
            "TANSO_DATABASE_URL": database_url,
            "TANSO_SESSIONS": "false",
            **(env or {}),
            "TANSO_LOG_LEVEL": "info",  # readiness is read from uvicorn's info log
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tanso.cli", role, "--port", str(self.port), *(args or [])],
            env=environment,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        seen = []
        for line in self.proc.stderr:
            seen.append(line)
            # uvicorn prints this once the socket listens ("startup complete" comes before)
            if "Uvicorn running on" in line:
                break
        else:
            raise RuntimeError("server did not start:\n" + "".join(seen))
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/v1/stream"

    def kill(self) -> None:
        """SIGKILL: the crash the recovery tests are about."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """A clean shutdown, forced after 30 s."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
