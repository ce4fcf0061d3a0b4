"""A real DNS server for tests: Debian's dnsmasq on a loopback port, answering only from its
own records. It never forwards a query upstream (``--no-resolv``, no ``server=`` lines), and
names under ``local_domains`` are answered NXDOMAIN when no record matches.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port, wait_for_port, wait_until_closed

DNSMASQ = "/usr/sbin/dnsmasq"


@dataclass
class DnsServer:
    """Add records, then ``start()``; to change records later, add them and ``restart()``."""

    directory: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    local_domains: tuple[str, ...] = ("test", "example")
    _lines: list[str] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def nameserver(self) -> str:
        """The value for ``INBOXLINK_DNS_NAMESERVERS``."""
        return f"{self.host}:{self.port}"

    def add_address(self, name: str, address: str) -> None:
        """An A (or AAAA) record for exactly ``name``."""
        self._lines.append(f"host-record={name},{address}")

    def add_mx(self, domain: str, exchange: str, preference: int = 10) -> None:
        self._lines.append(f"mx-host={domain},{exchange},{preference}")

    def add_srv(
        self,
        name: str,
        target: str | None = None,
        port: int = 0,
        priority: int = 0,
        weight: int = 1,
    ) -> None:
        """An SRV record; without a target it is the ``.`` record: "service not offered"."""
        value = name if target is None else f"{name},{target},{port},{priority},{weight}"
        self._lines.append(f"srv-host={value}")

    def replace_records(self) -> None:
        """Forget every record added so far (add new ones, then ``restart()``)."""
        self._lines.clear()

    def start(self) -> None:
        config = self.directory / "dnsmasq.conf"
        local = [f"local=/{domain}/" for domain in self.local_domains]
        config.write_text("\n".join([*local, *self._lines]) + "\n")
        log = (self.directory / "dnsmasq.log").open("ab")
        self._process = subprocess.Popen(
            [
                DNSMASQ,
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--pid-file=",
                "--user=root",
                f"--port={self.port}",
                f"--listen-address={self.host}",
                "--bind-interfaces",
                f"--conf-file={config}",
                "--log-queries",
                "--log-facility=-",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        self._process.wait(timeout=10)
        self._process = None
        wait_until_closed(self.host, self.port)

    def restart(self) -> None:
        self.stop()
        self.start()
