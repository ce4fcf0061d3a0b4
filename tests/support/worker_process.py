"""A real ``inboxlink worker`` process with its ops server, for the scale-out tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.ports import free_port


@dataclass
class WorkerProcess:
    data_dir: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)
    concurrency: int = 100
    ops_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def start(self) -> None:
        env = {**os.environ, "INBOXLINK_DATA_DIR": str(self.data_dir), **self.env}
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inboxlink",
                "worker",
                "--concurrency",
                str(self.concurrency),
                "--ops-port",
                str(self.ops_port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log_tail()}")
            try:
                if httpx.get(self.url("/readyz"), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"worker {self.name} did not start: {self.log_tail()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ops_port}{path}"

    def inboxes(self) -> set[int]:
        """The inboxes whose watcher runs in this process now (its ``/status``)."""
        return set(self.holdings())

    def holdings(self) -> dict[int, float]:
        """Inbox id → when (epoch seconds) this process began to watch it."""
        answer = httpx.get(self.url("/status"), timeout=30).json()
        return {int(inbox_id): taken for inbox_id, taken in answer["since"].items()}

    def rss_kib(self) -> int:
        """Resident memory of the worker process now (Linux /proc), for the per-inbox cost."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye to the database — a crashed machine."""
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def drain(self, timeout: float = 60) -> None:
        """SIGTERM: hand the inboxes back, then exit."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)

    def stop(self) -> None:
        try:
            self.drain(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
