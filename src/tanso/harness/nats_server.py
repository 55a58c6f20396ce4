"""A NATS server of Tanso's own (`make cluster-demo`, the tests, the benchmarks, the soak), and
the configuration docs/deployment.md gives for production: JetStream on, and with passwords a
user per role with the permissions that role needs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tanso.harness.devserver import free_port

ROLE_PERMISSIONS = {
    "engine": (
        ["_INBOX.>", "tanso.exchange.>", "tanso.invalidate", "tanso.head", "$JS.API.>"],
        ["tanso.requests", "tanso.commands", "tanso.book", "_INBOX.>"],
    ),
    "gateway": (
        [
            "tanso.requests",
            "tanso.commands",
            "tanso.book",
            "$JS.API.CONSUMER.>",
            "$JS.API.STREAM.INFO.>",
            "$JS.API.STREAM.NAMES",
            "$JS.FC.>",
        ],
        ["_INBOX.>", "tanso.invalidate", "tanso.head"],
    ),
}
"""What each role may publish and subscribe to."""


def config(port: int, store: Path, passwords: dict[str, str] | None = None) -> str:
    """A server's configuration: JetStream on, messages up to 8 MB (above the largest upload a
    gateway forwards), and with ``passwords`` (role -> password) a user per role."""
    text = f'listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{ store_dir: "{store}" }}\n'
    if not passwords:
        return text
    users = []
    for role, password in passwords.items():
        publish, subscribe = ROLE_PERMISSIONS[role]
        users.append(
            f'    {{user: {role}, password: "{password}", permissions: '
            f"{{publish: {_list(publish)}, subscribe: {_list(subscribe)}}}}}"
        )
    return text + "authorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"


def _list(subjects: list[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"


class NatsServer:
    """`nats-server` (Debian's) in a child process on a free port, its store in ``workdir``;
    ready when it accepts connections. `restart` brings it back on the same port and store."""

    def __init__(self, workdir: Path, passwords: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        conf = workdir / "nats.conf"
        conf.write_text(config(self.port, workdir / "js", passwords), encoding="utf-8")
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.args = [binary, "-c", str(conf)]
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.args, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return proc
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.01)
        raise RuntimeError("nats-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> None:
        self.proc = self._start()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
