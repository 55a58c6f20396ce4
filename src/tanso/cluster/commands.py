"""Order entry as typed commands: the gateway does the web work, the engine only the deciding.

Forwarding a whole request (cluster/link.py) makes the engine run the web layer too, which
costs it more CPU than deciding the order. For the hottest routes — place, cancel and amend an
order — a gateway authenticates, checks the scope and validates the body itself, and sends the
engine a compact command on ``tanso.commands``: the caller's identity (participant, roles,
scopes, broker, key, user), the command and its arguments, the Idempotency-Key with its
fingerprint, and a deadline. The engine puts it on the sequencer's queue as `tanso serve` does
and answers with the committed outcome, or with the refusal, which the gateway raises as the
same `TansoError` so that the caller gets the same answer, body and status, as from one process.
Only gateways may publish there (NATS permissions per role): the engine trusts the identity a
gateway vouches for, as the single process trusts its own authentication.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, fields
from typing import Any

from anyio import from_thread

from tanso.api.deps import CREDENTIALS
from tanso.cluster.link import Unreachable, persist
from tanso.domain.errors import Forbidden, TansoError, Unavailable
from tanso.domain.participants import Role, Scope
from tanso.services.common import Actor, Idem, plain
from tanso.services.ledger import participants
from tanso.services.trading import exchange as xs

SUBJECT = "tanso.commands"
QUEUE = "tanso-engines"
KINDS = ("place", "cancel", "amend")
COMMAND_ID_PREFIX = "cmd-"
"""How a command id the gateway assigned begins (the caller gave no Idempotency-Key)."""


def actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "participant_id": actor.participant_id,
        "roles": sorted(r.value for r in actor.roles),
        "agent_id": actor.agent_id,
        "key_id": actor.key_id,
        "user_id": actor.user_id,
        "scopes": None if actor.scopes is None else sorted(s.value for s in actor.scopes),
    }


def actor_of(d: dict[str, Any]) -> Actor:
    scopes = d.get("scopes")
    return Actor(
        d["participant_id"],
        frozenset(Role(r) for r in d.get("roles", [])),
        d.get("agent_id"),
        d.get("key_id"),
        d.get("user_id"),
        None if scopes is None else frozenset(Scope(s) for s in scopes),
    )


class RemoteError(TansoError):
    """A refusal the engine gave, raised again in the gateway (same code, message, kind)."""

    def __init__(self, code: str, message: str, kind: str) -> None:
        super().__init__(code, message)
        self.kind = kind


def _error_json(e: TansoError) -> dict[str, Any]:
    return {"code": e.code, "message": e.message, "kind": e.kind}


# ---------------------------------------------------------------- the gateway's side


@dataclass
class RemoteExchange:
    """What a gateway's routes see as ``app.state.exchange`` for order entry: each call is a
    command to the engine. Reads of the engine's memory (books, limits) are forwarded as
    requests (cluster/link.py `ENGINE_READS`) and never reach this object."""

    requester: Any
    """Returns the NATS request function, or None while there is no connection."""
    timeout: float
    local: xs.Exchange
    """The gateway's own exchange object: instrument views for the portal's pages."""
    failover: float = 0.0
    """Seconds to keep asking while no engine takes commands (a standby taking over)."""
    book_of: Any = None
    """Returns the feed's way to the engine's book depth (None while not connected)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def book(self, actor: Actor, instrument: str, depth: int = 10) -> xs.Book:
        """The engine's book depth, for the portal's server-rendered screens: the gateway's own
        exchange object never sees an order (the API's book route is forwarded instead)."""
        ask = self.book_of() if self.book_of is not None else None
        if ask is None:
            raise Unavailable("engine_unreachable", "No engine answers at the moment.")
        try:
            answer = from_thread.run(ask, instrument, depth)
        except TansoError:
            raise  # an unknown instrument: 404, as one process answers
        except Exception as e:  # no answer in time, or the engine failed
            raise Unavailable("engine_unreachable", f"The engine gave no book: {e}") from None
        levels = {k: [xs.BookLevel(**v) for v in answer[k]] for k in ("bids", "asks")}
        return xs.Book(**(answer | levels))

    @property
    def queue_depth(self) -> int:
        return 0  # the engine refuses when its queue is full (503, as one process does)

    @property
    def running(self) -> bool:
        """Ready for orders: connected to NATS (readiness, /readyz)."""
        return self.requester() is not None

    async def _ask(self, actor: Actor, kind: str, args: dict[str, Any], idem: Idem | None) -> Any:
        """Send the command until the engine answers it (link.persist). Every command carries a
        command id — the caller's Idempotency-Key, or one the gateway assigns — so that a
        command delivered twice (its leader died before answering, the standby got it again) is
        applied once and both deliveries get the same answer."""
        assigned = idem is None
        if idem is None:
            fingerprint = hashlib.sha256(f"{kind} {json.dumps(args, sort_keys=True)}".encode())
            idem = Idem(f"{COMMAND_ID_PREFIX}{uuid.uuid4().hex}", fingerprint.hexdigest())
        credentials = CREDENTIALS.get() if actor.key_id else None
        body = {
            "kind": kind,
            "actor": actor_json(actor),
            "credentials": credentials,
            "args": args,
            "idem": [idem.key, idem.fingerprint],
            "deadline": time.time() + self.timeout,
        }

        async def send(seconds: float, attempt: int) -> Any:
            request = self.requester()
            if request is None:
                raise Unreachable("not connected to NATS")
            # a command id the gateway has just made up cannot have been used: the engine need
            # not look it up (it still records it) until it is sent a second time
            body["fresh"] = assigned and attempt == 0
            return await request(SUBJECT, json.dumps(body).encode(), seconds)

        try:
            reply = await persist(send, self.timeout, self.failover, again_after_timeout=True)
        except Unreachable:
            raise RemoteError(
                "engine_unavailable",
                "The exchange's engine cannot be reached; nothing was done. Retry shortly.",
                "unavailable",
            ) from None
        except Exception:
            hint = (
                "Look at your orders (GET /v1/orders) before you send it again"
                if assigned
                else "Retry with the same Idempotency-Key to be sure"
            )
            raise RemoteError(
                "engine_timeout",
                f"The engine did not answer within {self.timeout:g} s; the command may or may "
                f"not have been applied. {hint}.",
                "timeout",
            ) from None
        answer = json.loads(reply.data)
        if "error" in answer:
            e = answer["error"]
            raise RemoteError(e["code"], e["message"], e["kind"])
        return xs._REPLAY[kind](answer["ok"])

    async def place_async(
        self, actor: Actor, order: xs.NewOrder, idem: Idem | None = None
    ) -> xs.PlacedOrder:
        xs._may_place(actor)
        args = {f.name: getattr(order, f.name) for f in fields(order)}
        placed: xs.PlacedOrder = await self._ask(actor, "place", args, idem)
        return placed

    def place(self, actor: Actor, order: xs.NewOrder, idem: Idem | None = None) -> xs.PlacedOrder:
        result: xs.PlacedOrder = from_thread.run(self.place_async, actor, order, idem)
        return result

    def cancel(self, actor: Actor, order_id: str, idem: Idem | None = None) -> xs.Order:
        args = {"order_id": order_id}
        result: xs.Order = from_thread.run(self._ask, actor, "cancel", args, idem)
        return result

    def amend(
        self,
        actor: Actor,
        order_id: str,
        quantity: int | None = None,
        price: int | None = None,
        idem: Idem | None = None,
    ) -> xs.PlacedOrder:
        if quantity is None and price is None:
            return self.local.amend(actor, order_id, quantity, price)  # refused as one process
        args = {"order_id": order_id, "quantity": quantity, "price": price}
        result: xs.PlacedOrder = from_thread.run(self._ask, actor, "amend", args, idem)
        return result


# ---------------------------------------------------------------- the engine's side

SCOPES = {"place": (Scope.TRADE,), "cancel": (Scope.TRADE, Scope.OPERATE)}
SCOPES["amend"] = SCOPES["cancel"]


async def _caller(exchange: xs.Exchange, c: dict[str, Any], kind: str) -> Actor:
    """Who sends the command. A command made with an API key is authenticated again here, from
    the key: the engine learns of a revocation the moment it commits, a gateway a moment later,
    so the engine's answer is the one that counts. A portal user's command (no key) is the
    gateway's, as a portal session is."""
    vouched = actor_of(c["actor"])
    credentials = c.get("credentials")
    if not credentials:
        return vouched
    token, on_behalf_of = credentials
    actor = participants.remembered_actor(exchange.db, token, on_behalf_of)
    if actor is None:
        actor = await asyncio.to_thread(participants.authenticate, exchange.db, token, on_behalf_of)
    administrator = kind == "place" and actor.has(Role.SCHEME_ADMINISTRATOR)
    if administrator and actor.may(Scope.OPERATE):
        return actor  # the GX-ETS price-stability buy (the gateway's route checked the rest)
    if not any(actor.may(s) for s in SCOPES.get(kind, ())):
        names = " or ".join(s.value for s in SCOPES[kind])
        raise Forbidden(
            "scope_missing",
            f"This route needs the {names} scope, which this API key does not hold here.",
        )
    return actor


async def execute(exchange: xs.Exchange, data: bytes) -> bytes:
    """Run one command from a gateway through the sequencer; its outcome as JSON."""
    try:
        c = json.loads(data)
        if c.get("deadline") and time.time() > float(c["deadline"]):
            raise RemoteError(
                "deadline_passed",
                "The order reached the engine after its deadline; nothing was done.",
                "timeout",
            )
        kind, args = c["kind"], c["args"]
        actor = await _caller(exchange, c, kind)
        idem = None
        if c.get("idem"):
            key, fingerprint = c["idem"]
            idem = Idem(key, fingerprint, fresh=bool(c.get("fresh")))
        if kind == "place":
            outcome: Any = await exchange.place_async(actor, xs.NewOrder(**args), idem)
        elif kind == "cancel":
            outcome = await exchange.submit_async(
                actor, "cancel", order_id=args["order_id"], idem=idem
            )
        elif kind == "amend":
            outcome = await asyncio.to_thread(
                exchange.amend,
                actor,
                args["order_id"],
                args.get("quantity"),
                args.get("price"),
                idem,
            )
        else:
            raise RemoteError("unknown_command", f"Unknown command {kind!r}.", "invalid")
    except TansoError as e:
        return json.dumps({"error": _error_json(e)}).encode()
    return json.dumps({"ok": plain(outcome)}, ensure_ascii=False).encode()
