"""A market that keeps trading while you watch: simulated participants place orders through
`tanso.client` against a running server, and the operator runs call auctions on an accelerated
clock (one trading day every `day_seconds`: open, the 11:30 auction, the 15:00 auction, close).

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
    """Simulated traders and an operator that runs sessions on a compressed day."""

    def __init__(
        self,
        base_url: str,
        keys: dict[str, str],
        *,
        seed: int | None = None,
        order_interval: float = 0.5,
        day_seconds: float = 180.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.transport = transport
        self.base_url = base_url
        self.keys = {p: k for p, k in keys.items() if p != "OPERATOR"}
        self.operator_key = keys["OPERATOR"]
        self.rng = random.Random(seed)
        self.order_interval = order_interval
        self.day_seconds = day_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = {"orders": 0, "rejected": 0, "auctions": 0}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tanso-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        op, clients = self.clients()
        try:
            while not self._stop.is_set():
                try:
                    instruments = [i for i in op.instruments() if i.mode == "call"]
                    break
                except httpx.HTTPError:
                    self._stop.wait(0.5)  # the server is still starting
            else:
                return
            for i in instruments:
                self._session(op, i.id, "open")
            ticks_per_day = max(4, int(self.day_seconds / self.order_interval))
            tick = 0
            while not self._stop.wait(self.order_interval):
                tick += 1
                self._one_order(clients, instruments)
                phase = tick % ticks_per_day
                if phase in (ticks_per_day * 7 // 15, ticks_per_day - 2):  # "11:30" and "15:00"
                    for i in instruments:
                        self._auction(op, i.id)
                if phase == ticks_per_day - 1:  # close the day, open the next
                    for i in instruments:
                        self._session(op, i.id, "close")
                        self._session(op, i.id, "open")
        finally:
            op.close()
            for c in clients.values():
                c.close()

    def clients(self) -> tuple[Client, dict[str, Client]]:
        """The operator's client and one per simulated participant."""
        op = Client(self.base_url, self.operator_key, timeout=30, transport=self.transport)
        clients = {
            p: Client(self.base_url, k, timeout=30, transport=self.transport)
            for p, k in self.keys.items()
        }
        return op, clients

    def _one_order(self, clients: dict[str, Client], instruments: list[Instrument]) -> None:
        pid = self.rng.choice(sorted(clients))
        inst = self.rng.choice(instruments)
        ref = inst.reference_price or 3_000
        step = max(1, ref // 200)
        side = self.rng.choice(("buy", "sell"))
        skew = -2 if side == "buy" else 2
        price = max(inst.tick, ref + (self.rng.randint(-6, 6) + skew) * step)
        quantity = self.rng.randint(1, 30) * 10
        try:
            clients[pid].place_order(inst.id, side, quantity, price)
            self.counts["orders"] += 1
        except (ApiError, httpx.HTTPError):
            self.counts["rejected"] += 1  # no cash or no credits of that category: fine

    def _auction(self, op: Client, instrument: str) -> None:
        try:
            op.run_auction(instrument)
            self.counts["auctions"] += 1
        except (ApiError, httpx.HTTPError) as e:
            log.info("auction %s: %s", instrument, e)

    def _session(self, op: Client, instrument: str, action: str) -> None:
        try:
            op.session(instrument, action)
        except (ApiError, httpx.HTTPError) as e:
            log.debug("%s %s: %s", action, instrument, e)
