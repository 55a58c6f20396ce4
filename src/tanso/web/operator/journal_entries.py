"""The journal's entries as sentences in the page's language, for the operator's journal screen.

One function per common entry kind reads the entry's payload and fills the sentence of the
``operator`` texts named ``je_<kind>`` (``je_exchange_order`` ...); any other kind, and an entry
whose payload is not what its kind's function expects (an older version, a sealed bid), gets
the generic sentence ``je_generic``. Reads only the entry given: no database, no service.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from tanso.web import yen
from tanso.web.kit import JST

Texts = Mapping[str, str]
Sentence = Callable[[dict[str, Any], str, Texts, str], str]


def when(at: str) -> str:
    """An entry's time in Japan to the second: ``09:00:01 JST``."""
    try:
        ts = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    return ts.astimezone(JST).strftime("%H:%M:%S JST")


def _n(value: Any) -> str:
    return f"{int(value):,}"


def _events(p: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in p.get("events", []) if isinstance(e, dict) and e.get("event") == name]


def _order(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    c = p["command"]
    rejected = _events(p, "rejected")
    if rejected:
        return t["je_order_rejected"].format(
            order=c["id"], participant=c["participant"], reason=rejected[0]["reason"]
        )
    values = {
        "order": c["id"],
        "participant": c["participant"],
        "side": t[c["side"]].lower() if lang == "en" else t[c["side"]],
        "quantity": _n(c["quantity"]),
        "instrument": c["instrument"],
    }
    if c.get("price") is None:
        sentence = t["je_order_market"].format(**values)
    else:
        sentence = t["je_order"].format(**values, price=yen(int(c["price"])))
    return sentence + _traded(p, t)


def _traded(p: dict[str, Any], t: Texts) -> str:
    trades = _events(p, "trade")
    if not trades:
        return ""
    tonnes = sum(int(e["quantity"]) for e in trades)
    return t["je_traded"].format(trades=_n(len(trades)), quantity=_n(tonnes))


def _cancel(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    cancelled = _events(p, "cancelled")
    quantity = sum(int(e["quantity"]) for e in cancelled)
    return t["je_exchange_cancel"].format(
        order=p["command"]["id"], actor=actor, quantity=_n(quantity)
    )


def _amend(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    c = p["command"]
    changes = []
    if c.get("quantity") is not None:
        changes.append(f"{_n(c['quantity'])} t")
    if c.get("price") is not None:
        changes.append(yen(int(c["price"])))
    return t["je_exchange_amend"].format(order=c["id"], actor=actor, to=", ".join(changes))


def _session(action: str) -> Sentence:
    def sentence(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
        instrument = p["command"]["instrument"]
        text = t[f"je_exchange_{action}"].format(instrument=instrument, actor=actor)
        expired = [e for e in _events(p, "cancelled") if e.get("reason") == "expired"]
        if expired:
            text += t["je_expired"].format(orders=_n(len(expired)))
        return text + _traded(p, t)

    return sentence


def _auction(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    result = _events(p, "auction")
    instrument = p["command"]["instrument"]
    if not result or result[0].get("price") is None or not result[0].get("volume"):
        return t["je_auction_none"].format(instrument=instrument)
    trades = _events(p, "trade")
    return t["je_exchange_auction"].format(
        instrument=instrument,
        price=yen(int(result[0]["price"])),
        volume=_n(result[0]["volume"]),
        trades=_n(len(trades)),
    )


def _instrument(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    i = p["instrument"]
    return t["je_exchange_instrument"].format(
        instrument=i["id"],
        name=i["name_ja"] if lang == "ja" else i["name_en"],
        price=yen(int(p["command"]["reference_price"])),
    )


def _busted(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    e = _events(p, "trade_busted")[0]
    return t["je_exchange_trade_busted"].format(
        trade=e["trade"],
        quantity=_n(e["quantity"]),
        instrument=e["instrument"],
        price=yen(int(e["price"])),
        reason=t.get(f"reason_{e['reason_code']}", e["reason_code"]),
    )


def _settled(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_settlement_settled"].format(
        trade=p["trade_id"],
        quantity=_n(p["quantity"]),
        seller=p["seller"],
        buyer=p["buyer"],
        amount=yen(int(p["amount"])),
    )


def _failed(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_settlement_failed"].format(
        trade=p["trade_id"], buyer=p["buyer"], seller=p["seller"], reason=p["reason"]
    )


def _run(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    text = t["je_settlement_run"].format(
        date=p["date"],
        settled=_n(p["settled"]),
        failed=_n(p["failed"]),
        cash=yen(int(p["cash_moved"])),
        credits=_n(p["credits_moved"]),
    )
    return text + (t["je_early"] if p.get("early") else "")


def _credits(key: str, who: str) -> Sentence:
    def sentence(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
        return t[key].format(
            quantity=_n(p["quantity"]),
            id=p.get("id", ""),
            account=p.get("account_id", ""),
            serials=p.get("serials", ""),
            project=p.get("project_id", ""),
            vintage=p.get("vintage", ""),
            beneficiary=p.get("beneficiary") or "-",
            frm=p.get("from_account", ""),
            to=p.get("to_account", ""),
            who=p.get(who) or actor,
        )

    return sentence


def _deposited(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_credits_deposited"].format(
        quantity=_n(p["quantity"]),
        account=p["account_id"],
        registry=p.get("external_registry") or "-",
        serials=p["serials"],
    )


def _frozen(key: str) -> Sentence:
    def sentence(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
        return t[key].format(serials=p["serials"], reason=p.get("reason") or "-")

    return sentence


def _account_opened(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_account_opened"].format(
        account=p["account"], participant=p["participant"], name=p.get("name") or "-"
    )


def _listed(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_marketplace_listed"].format(
        id=p["id"],
        actor=actor,
        quantity=_n(p["available"]),
        issuance=p["issuance_id"],
        price=yen(int(p["price"])),
    )


def _dispute_opened(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_dispute_opened"].format(
        dispute=p["dispute"],
        opener=p["opener"],
        counterparty=p["counterparty"],
        subject=p["subject"],
    )


def _cash(key: str) -> Sentence:
    def sentence(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
        return t[key].format(participant=p["participant"], amount=yen(int(p["amount"])))

    return sentence


def _registered(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_participant_registered"].format(
        participant=p["participant"], name=p["name_ja"] if lang == "ja" else p["name_en"]
    )


def _status_changed(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_participant_status_changed"].format(
        participant=p["participant"], frm=p["from"], to=p["to"], reason=p.get("reason") or "-"
    )


def _user_created(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_user_created"].format(
        email=p["email"], participant=p["participant_id"], role=p["role"]
    )


def _key_created(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_api_key_created"].format(key=p["key_id"], participant=p["participant"])


def _fees(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_fees_set"].format(instrument=p["instrument"], side=t[p["side"]])


def _buffered(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_removals_buffered"].format(
        quantity=_n(p["quantity"]), serials=p["serials"], scheme=p["scheme"]
    )


def _reversal(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_removals_reversal"].format(
        id=p["id"],
        project=p["project_id"],
        quantity=_n(p["quantity"]),
        buffer=_n(p["from_project_buffer"]),
        holders=_n(p["from_holders"]),
        pool=_n(p["from_pool"]),
        uncompensated=_n(p["uncompensated"]),
    )


def _offtake_signed(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    vintages = p["vintages"]
    return t["je_offtake_signed"].format(
        contract=p["contract_id"],
        project=p["project_id"],
        quantity=_n(sum(int(q) for q in vintages.values())),
        first=min(vintages),
        last=max(vintages),
        actor=actor,
    )


def _offtake_delivered(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_offtake_delivered"].format(
        contract=p["contract_id"],
        quantity=_n(p["quantity"]),
        vintage=p["vintage"],
        amount=yen(int(p["amount"]) + int(p.get("prepaid") or 0)),
    )


def _offtake_failed(p: dict[str, Any], actor: str, t: Texts, lang: str) -> str:
    return t["je_offtake_payment_failed"].format(
        contract=p["contract_id"],
        quantity=_n(p["quantity"]),
        vintage=p["vintage"],
        reason=p.get("reason_code") or "-",
    )


SENTENCES: dict[str, Sentence] = {
    "exchange.order": _order,
    "exchange.cancel": _cancel,
    "exchange.amend": _amend,
    "exchange.open": _session("open"),
    "exchange.close": _session("close"),
    "exchange.halt": _session("halt"),
    "exchange.resume": _session("resume"),
    "exchange.pre_close": _session("pre_close"),
    "exchange.auction": _auction,
    "exchange.instrument": _instrument,
    "exchange.trade_busted": _busted,
    "settlement.settled": _settled,
    "settlement.failed": _failed,
    "settlement.run": _run,
    "credits.issued": _credits("je_credits_issued", "account_id"),
    "credits.retired": _credits("je_credits_retired", "participant_id"),
    "credits.transferred": _credits("je_credits_transferred", "from_account"),
    "credits.cancelled": _credits("je_credits_cancelled", "account_id"),
    "credits.withdrawn": _credits("je_credits_withdrawn", "account_id"),
    "credits.deposited": _deposited,
    "credits.frozen": _frozen("je_credits_frozen"),
    "credits.unfrozen": _frozen("je_credits_unfrozen"),
    "account.opened": _account_opened,
    "marketplace.listed": _listed,
    "dispute.opened": _dispute_opened,
    "cash.deposited": _cash("je_cash_deposited"),
    "cash.withdrawn": _cash("je_cash_withdrawn"),
    "participant.registered": _registered,
    "participant.status_changed": _status_changed,
    "user.created": _user_created,
    "api_key.created": _key_created,
    "fees.set": _fees,
    "removals.buffered": _buffered,
    "removals.reversal": _reversal,
    "offtake.signed": _offtake_signed,
    "offtake.delivered": _offtake_delivered,
    "offtake.payment_failed": _offtake_failed,
}
"""The entry kinds with a sentence of their own; every other kind reads ``je_generic``."""


def describe(kind: str, actor: str, payload: str, t: Texts, lang: str) -> str:
    """The entry as one sentence in ``lang`` (its time not included)."""
    sentence = SENTENCES.get(kind)
    if sentence is not None:
        try:
            p = json.loads(payload)
            if isinstance(p, dict):
                return sentence(p, actor, t, lang)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            pass  # not the payload this kind's sentence reads: the generic one says it
    return t["je_generic"].format(kind=kind, actor=actor)
