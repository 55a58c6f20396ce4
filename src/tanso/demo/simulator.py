"""A market that keeps trading while you watch: simulated participants place orders through
`tanso.client` against a running server, on the instruments whose market is open. The server's
session scheduler opens, auctions and closes the markets on the demo's business clock
(tanso.demo.clock, docs/demo-clock.md); the simulator only trades.

It is the demo's traffic generator, a client like any other: it knows only API keys and URLs.
"""

from __future__ import annotations

import logging
import random
import threading

import httpx

from tanso.client import ApiError, Client
from tanso.services.trading.exchange import Instrument

log = logging.getLogger("tanso.simulator")


class Simulator:
    """Simulated traders placing orders on the open markets."""

    def __init__(
        self,
        base_url: str,
        keys: dict[str, str],
        *,
        seed: int | None = None,
        order_interval: float = 0.5,
        refresh_every: int = 10,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.transport = transport
        self.base_url = base_url
        self.keys = {p: k for p, k in keys.items() if p != "OPERATOR"}
        self.operator_key = keys.get("OPERATOR")
        self.rng = random.Random(seed)
        self.order_interval = order_interval
        self.refresh_every = refresh_every
        """Orders between two readings of the instruments' states and reference prices."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = {"orders": 0, "rejected": 0}
        self._barred: set[tuple[str, str]] = set()
        """(participant, instrument) pairs refused for who they are (403): never tried again."""
        self._closed: set[str] = set()
        """Instruments that refused an order as outside their window, until the next reading."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tanso-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        clients = self.clients()
        reader = next(iter(clients.values()), None)
        try:
            open_now: list[Instrument] = []
            tick = 0
            while reader is not None and not self._stop.wait(self.order_interval):
                if tick % self.refresh_every == 0:
                    open_now = self._open_markets(reader)
                    self._closed.clear()
                tick += 1
                if open_now:
                    self.step(clients, open_now)
        finally:
            for c in clients.values():
                c.close()

    def _open_markets(self, reader: Client) -> list[Instrument]:
        """The call-auction instruments open for orders now (none while the server starts)."""
        try:
            return [i for i in reader.instruments() if i.mode == "call" and i.state == "open"]
        except (ApiError, httpx.HTTPError):
            return []

    def clients(self) -> dict[str, Client]:
        """One client per simulated participant."""
        return {
            p: Client(self.base_url, k, timeout=30, transport=self.transport)
            for p, k in self.keys.items()
        }

    def step(self, clients: dict[str, Client], instruments: list[Instrument]) -> None:
        """One order of a random participant on one of ``instruments``; a refusal for who the
        participant is, or for the hour, is remembered so that it is not asked again."""
        inst = self.rng.choice(instruments)
        if inst.id in self._closed:
            return
        allowed = sorted(p for p in clients if (p, inst.id) not in self._barred)
        if not allowed:
            return
        pid = self.rng.choice(allowed)
        ref = inst.reference_price or 3_000
        step = max(1, ref // 200)
        side = self.rng.choice(("buy", "sell"))
        skew = -2 if side == "buy" else 2
        price = max(inst.tick, ref + (self.rng.randint(-6, 6) + skew) * step)
        quantity = self.rng.randint(1, 30) * 10
        try:
            clients[pid].place_order(inst.id, side, quantity, price)
            self.counts["orders"] += 1
        except ApiError as e:
            self.counts["rejected"] += 1  # no cash or no credits of that category: fine
            if e.status == 403:
                self._barred.add((pid, inst.id))
            elif e.code == "market_closed":
                self._closed.add(inst.id)
        except httpx.HTTPError:
            self.counts["rejected"] += 1
