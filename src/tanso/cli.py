"""The `tanso` command line (Typer + Rich). It acts as the system operator on the local database."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tanso import cli_cycle, cli_ops, cli_points, cli_stats, cli_surveillance, cli_usage
from tanso.api import ops
from tanso.demo import exchange_days as demo_exchange
from tanso.demo import history
from tanso.domain.errors import TansoError
from tanso.services.common import SYSTEM, plain
from tanso.services.ledger import audit, cash, participants, registry, taxonomy
from tanso.services.operations import schema
from tanso.services.trading import instruments, virtual_clock
from tanso.services.trading.calendar import japan_calendar
from tanso.services.trading.exchange import Exchange
from tanso.settings import Settings, open_database, utc_now
from tanso.store.db import Database

app = typer.Typer(help="Tanso (炭素): carbon credit registry and exchange.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
registry_app = typer.Typer(
    help="Registry operations, run as the registry operator.", no_args_is_help=True
)
audit_app = typer.Typer(help="Verify the journal.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(audit_app, name="audit")
docs_app = typer.Typer(help="Documentation generated from the code.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
market_app = typer.Typer(
    help="Published market data, run as the exchange operator.", no_args_is_help=True
)
app.add_typer(market_app, name="market")

out = Console()
err = Console(stderr=True)


def _db() -> Database:
    return open_database(Settings())


def _print(value: Any) -> None:
    out.print_json(json.dumps(plain(value), ensure_ascii=False))


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except TansoError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    out.print(f"schema up to date on {schema.upgrade(_db())}")


@app.command()
def init(
    demo: Annotated[bool, typer.Option(help="Load the demo market.")] = False,
    reset: Annotated[bool, typer.Option(help="Delete an existing SQLite database first.")] = False,
) -> None:
    """Create the schema, the operator and the reference data; with --demo, a demo market."""
    settings = Settings()
    if reset:
        _reset(settings)
    db = open_database(settings)
    clock = None
    if demo:
        # the demo's history is simulated: ten business days of trading and settlement before
        # its first live day (today, or the next business day), on the demo clock
        live = virtual_clock.live_day(dt.datetime.now(instruments.JST).date(), japan_calendar())
        days = demo_exchange.demo_days(live)
        clock = demo_exchange.DemoClock(demo_exchange.at_jst(days[0], 8, 30))
        db.clock = clock
    schema.upgrade(db)
    boot = participants.bootstrap(db)
    taxonomy.seed_reference_data(db, SYSTEM)
    keys: dict[str, str] = {}
    if boot.created and boot.operator_key:
        keys["OPERATOR"] = boot.operator_key
    exchange = Exchange(db, japan_calendar())
    histories: dict[str, list[history.AuctionRow]] = {}
    if demo:
        categories = [s.eligibility.categories[0] for s in instruments.standard_instruments(db)]
        histories = history.demo_histories(categories, days[0] - dt.timedelta(days=1))
    references = {c: p for c, rows in histories.items() if (p := history.last_price(rows))}
    listed = instruments.ensure_standard_instruments(db, exchange, references)
    for spec in instruments.standard_instruments(db):
        rows = histories.get(spec.eligibility.categories[0])
        if rows and spec.id in listed:
            history.import_history(db, SYSTEM, spec.id, rows)
    if listed:
        out.print(f"listed {len(listed)} instruments: {', '.join(listed)}")
    if demo and clock is not None:
        from tanso.demo import auctions as demo_auctions
        from tanso.demo import cycle as demo_cycle
        from tanso.demo import declarations as demo_declarations
        from tanso.demo import gx as demo_gx
        from tanso.demo import jcm as demo_jcm
        from tanso.demo import local as demo_local
        from tanso.demo import market as demo_data
        from tanso.demo import marketplace as demo_marketplace
        from tanso.demo import notices as demo_notices
        from tanso.demo import points as demo_points
        from tanso.demo import removals as demo_removals
        from tanso.demo import usage as demo_usage

        # issue 18 defect 8: a spinner with the step, so ~15 s are not silent (a no-op off a
        # terminal: tests and logs see only the summary lines)
        with out.status("demo: participants, projects and issuances...") as progress:
            keys |= _run(demo_data.load, db)
            out.print("demo: participants, projects and issuances loaded")
            gx_keys = demo_gx.prepare(db, exchange, clock, days)  # its asks trade in the history
            demo_jcm.run(db, exchange, keys, clock, days, set(simulated_traders(keys)))
            progress.update(f"demo: exchange days ({len(days)} business days of history)...")
            counts = demo_exchange.demo_market(db, exchange, keys, clock, days)
            out.print(f"demo: {len(days)} exchange days simulated")
            extras = []
            for step, m in (
                ("marketplace", demo_marketplace),
                ("auctions", demo_auctions),
                ("usage", demo_usage),
                ("gx", demo_gx),
                ("local", demo_local),
                ("points", demo_points),
                ("removals", demo_removals),
                ("notices", demo_notices),
                ("cycle", demo_cycle),
                ("declarations", demo_declarations),
            ):
                progress.update(f"demo: {step}...")
                extras.append(m.seed(db, exchange, keys, clock, days))
                out.print(f"demo: {step} seeded")
            keys |= gx_keys  # after the venues' demos, which keep to the original participants
            progress.update("demo: the first live morning...")
            # not in the demo users' names: they find only orders they placed themselves
            morning = demo_exchange.demo_morning(db, exchange, simulated_traders(keys), clock, live)
            counts["orders"] += morning["orders"]
            out.print(
                f"demo: the first live morning: markets open, {morning['orders']} orders "
                "waiting for the 11:30 auction"
            )
        _demo_users(db)
        db.clock = utc_now
        out.print(
            f"demo market: {counts['orders']} orders, {counts['auctions']} call auctions, "
            f"{counts['trades']} trades over {len(days)} business days; "
            f"{counts['settled']} settled, {counts['failed']} failed (resolve it as the operator)"
        )
        out.print(
            f"demo clock: {live:%a %d %b %Y} 10:45 JST, the first live day; `tanso serve "
            "--simulate` runs it on from there (docs/demo-clock.md)"
        )
        for line in extras:
            if line:
                out.print(line)
    if keys:
        out.print("[bold]API keys[/bold] (shown once; keep them):")
        width = max(len(pid) for pid in keys)
        for pid, key in keys.items():
            print(f"  {pid:<{width}}  {key}")
        Path("demo-keys.json").write_text(json.dumps(keys, indent=2), encoding="utf-8")
        out.print("Also written to demo-keys.json.")
    if demo:
        out.print("Keys and portal logins are kept in demo-keys.json and demo-users.json.")
    out.print("[green]ready[/green]")


def simulated_traders(keys: dict[str, str]) -> dict[str, str]:
    """The demo keys the simulator trades with: not those of the participants the demo's portal
    users log in as, so that the demo trader never finds orders it did not place."""
    people = {pid for pid, *_ in DEMO_USERS if pid != "OPERATOR"}
    return {pid: key for pid, key in keys.items() if pid not in people}


DEMO_USERS = (
    ("OPERATOR", "operator@tanso.example.jp", "Demo exchange operator", "administrator"),
    ("MARUHAMA", "trader@maruhama.example.jp", "Demo trader", "trader"),
    ("MARUHAMA", "admin@maruhama.example.jp", "Demo administrator", "administrator"),
    (
        "HOKUTO_STEEL",
        "sustainability@hokuto-steel.example.jp",
        "Demo sustainability officer",
        "account_manager",
    ),
    ("SHIRANE_CEMENT", "gx@shirane-cement.example.jp", "Demo GX-ETS officer", "administrator"),
    ("KOKUSEI_VERIFY", "verifier@kokusei.example.jp", "Demo verifier", "administrator"),
    ("ECORIDE", "points@ecoride.example.jp", "Demo points programme officer", "administrator"),
    ("TOMAKOMAI_DAC", "offtake@tomakomai-dac.example.jp", "Demo offtake manager", "administrator"),
    (
        "MINATO_DESIGN",
        "sustainability@minato-design.example.jp",
        "Demo sustainability lead",
        "account_manager",
    ),
    ("OKUMINE_FOC", "forest@okumine-foc.example.jp", "Demo project developer", "administrator"),
    ("JFA_VERIFY", "audit@jfa-verify.example.jp", "Demo validation body", "administrator"),
)


def _demo_users(db: Database) -> None:
    """Portal users for the demo, each with a random password shown once."""
    import secrets

    from tanso.services.access import users

    logins = {}
    for pid, email, name, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        users.create(db, SYSTEM, users.NewUser(pid, email, name, role, password))
        logins[email] = password
    out.print("[bold]Portal users[/bold] (http://127.0.0.1:8000/portal; passwords shown once):")
    for email, password in logins.items():
        print(f"  {email}  {password}")
    Path("demo-users.json").write_text(json.dumps(logins, indent=2), encoding="utf-8")


def _reset(settings: Settings) -> None:
    url = settings.database_url
    if not url.startswith("sqlite:///"):
        err.print("--reset only deletes SQLite files; drop a PostgreSQL database yourself.")
        raise typer.Exit(2)
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    simulate: Annotated[
        bool, typer.Option(help="Run simulated traders from demo-keys.json (the demo).")
    ] = False,
) -> None:
    """Run the HTTP server (the API, with its documentation at /docs)."""
    import uvicorn

    from tanso.api.app import create_app

    if simulate:  # the demo: request lines in a file, the console quiet (TANSO_REQUEST_LOG=all)
        os.environ.setdefault("TANSO_REQUEST_LOG", "quiet")
        os.environ.setdefault("TANSO_REQUEST_LOG_FILE", "tanso-requests.log")
    settings = Settings()
    db = open_database(settings)
    schema.upgrade(db)
    h, p = host or settings.host, port or settings.port
    out.print(f"Tanso on http://{h}:{p}  (API docs: http://{h}:{p}/docs)")
    # the demo runs on its own business clock, from where its data ends
    anchored = settings.virtual_clock or (virtual_clock.anchor(db) if simulate else "")
    clock = virtual_clock.install(db, anchored, settings.virtual_clock_speed) if anchored else None
    sessions, settlement_time = virtual_clock.sessions_of(settings, clock)
    if clock is not None:
        out.print(
            f"demo clock: {clock.now():%a %d %b %Y %H:%M} JST, {clock.speed:g}x the wall clock, "
            "business days only (docs/demo-clock.md)"
        )
    if sessions:
        out.print("sessions: orders 08:00-11:29 and 12:30-14:59 JST, call auctions 11:30 and 15:00")
    app_ = create_app(
        db,
        sessions=sessions,
        settlement_time=settlement_time,
        background=True,
        demo_clock=clock,
    )
    simulator = None
    if simulate:
        from tanso.demo.simulator import Simulator

        keys = json.loads(Path("demo-keys.json").read_text(encoding="utf-8"))
        simulator = Simulator(f"http://{h}:{p}", simulated_traders(keys))
        simulator.start()
        out.print("simulated traders are trading whenever a market is open")
        if settings.request_log == "quiet":
            out.print(
                f"request log: errors and slow requests here, every request in "
                f"{settings.request_log_file or 'no file'}; keys and logins are in "
                "demo-keys.json and demo-users.json"
            )
    try:
        uvicorn.run(
            app_,
            host=h,
            port=p,
            log_level=settings.log_level,
            log_config=ops.uvicorn_log_config(settings.log_format, settings.log_level),
            # X-Forwarded-For is read by the app, from TANSO_TRUSTED_PROXIES only (api/ops.py)
            proxy_headers=False,
            # a larger stream message is refused by the protocol itself, with close code 1009
            ws_max_size=settings.stream_max_message_bytes,
            ws_per_message_deflate=settings.stream_deflate,
        )
    finally:
        if simulator is not None:
            simulator.stop()


def _uvicorn_run(target: Any, settings: Settings, host: str, port: int, **extra: Any) -> None:
    import uvicorn

    uvicorn.run(
        target,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=ops.uvicorn_log_config(settings.log_format, settings.log_level),
        proxy_headers=False,  # X-Forwarded-For is read by the app (api/ops.py)
        ws_max_size=settings.stream_max_message_bytes,
        ws_per_message_deflate=settings.stream_deflate,
        **extra,
    )


def _cluster_settings() -> Settings:
    """The settings of an engine or a gateway; exit 2 on a database they cannot run on."""
    from tanso.cluster.roles import cluster_refusal

    settings = Settings()
    if refusal := cluster_refusal(settings):
        err.print(refusal)
        raise typer.Exit(2)
    return settings


@app.command()
def engine(
    host: Annotated[str | None, typer.Option(help="Address of its own HTTP port.")] = None,
    port: Annotated[int | None, typer.Option(help="Its own HTTP port (health, metrics).")] = None,
) -> None:
    """Run the engine: the sequencer, the only writer, answering gateways over NATS
    (PostgreSQL only; docs/deployment.md)."""
    from tanso.cluster.roles import engine_app

    settings = _cluster_settings()
    h, p = host or settings.host, port or settings.port
    out.print(f"Tanso engine on http://{h}:{p}, answering gateways on {settings.nats_url}")
    _uvicorn_run(engine_app(), settings, h, p)


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run a gateway: the API and the portal, every change sent to the engine over NATS
    (PostgreSQL only; as many gateways and workers as wanted)."""
    settings = _cluster_settings()
    h, p = host or settings.host, port or settings.port
    out.print(
        f"Tanso gateway on http://{h}:{p} ({workers} worker(s)), engine via {settings.nats_url}"
    )
    _uvicorn_run("tanso.cluster.roles:gateway_app", settings, h, p, factory=True, workers=workers)


@app.command()
def settle(
    date: Annotated[
        str | None, typer.Option(help="Settle obligations due on or before this date.")
    ] = None,
    early: Annotated[
        bool,
        typer.Option(help="Settle a date after today's business date (journaled override)."),
    ] = False,
) -> None:
    """Run settlement (delivery versus payment) for a date, today's business date by default."""
    import datetime as dt

    from tanso.services.clearing import settlement

    db = _db()
    day = dt.date.fromisoformat(date) if date else settlement.business_date(db)
    result = _run(settlement.run, db, SYSTEM, day, early=early)
    _print(result)


@docs_app.command("scopes")
def docs_scopes() -> None:
    """Print the table of API routes and the scope each needs (docs/security.md)."""
    import tempfile

    from tanso.api.app import create_app
    from tanso.api.scope_table import markdown

    # the app is built around a throwaway database: only its routes are read
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/routes.db", utc_now)
        schema.upgrade(db)
        table = markdown(create_app(db))
        db.dispose()
    typer.echo(table, nl=False)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain and every balance from the journal; exit 1 on any mismatch."""
    report = audit.verify(_db())
    if report.ok:
        out.print(
            f"[green]journal verifies[/green]: {report.entries} entries, head {report.head_hash}"
        )
        return
    err.print(f"[red]journal does not verify[/red] (first bad entry: {report.first_bad_seq})")
    for p in report.problems:
        err.print(f"  {p}")
    raise typer.Exit(1)


@market_app.command("restate")
def market_restate(
    date: Annotated[str, typer.Option(help="The first date to restate (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'trade T12-1 busted'.")],
) -> None:
    """Recompute the index values published for DATE and every later date from the trades that
    stand (busted trades left out) and store those that changed (docs/indices.md, section 9)."""
    from tanso.services.marketdata import indices

    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        err.print(f"[red]invalid_date[/red]: write the date as YYYY-MM-DD; {date!r} is not.")
        raise typer.Exit(2) from None
    changed = _run(indices.restate, _db(), SYSTEM, day, reason)
    if not changed:
        out.print(f"nothing to restate: the values from {date} on equal their recomputation")
        return
    for c in changed:
        out.print(f"{c.date} {c.id}: {c.old_value} ({c.old_rule}) -> {c.new_value} ({c.new_rule})")
    out.print(f"{len(changed)} values restated (journal entry index.restated)")


# ---------------------------------------------------------------- registry commands


Qty = Annotated[int | None, typer.Option(help="Quantity, taken oldest vintage first.")]
Serials = Annotated[str | None, typer.Option(help="A serial block, e.g. JC-ER-P0123-3-1-100.")]


@registry_app.command("participant-add")
def participant_add(
    pid: str,
    name_en: str,
    name_ja: str,
    kind: Annotated[str, typer.Option()] = "corporation",
    corporate_number: Annotated[str | None, typer.Option()] = None,
    roles: Annotated[str, typer.Option(help="Comma-separated roles.")] = "trader",
    approve: Annotated[bool, typer.Option(help="Approve at once.")] = True,
    lei: Annotated[str | None, typer.Option(help="LEI (ISO 17442), 20 characters.")] = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")] = "JP",
    name_local: Annotated[
        str | None, typer.Option(help="The name in the participant's own script.")
    ] = None,
) -> None:
    """Register a participant (and approve it) and print its first API key; a corporation from
    abroad gives --country and --lei instead of a corporate number."""
    db = _db()
    new = participants.NewParticipant(
        name_ja,
        name_en,
        kind,
        roles.split(","),
        corporate_number,
        False,
        pid,
        lei=lei,
        country=country,
        name_local=name_local,
    )
    _run(participants.create_participant, db, SYSTEM, new)
    if approve:
        _run(participants.set_status, db, SYSTEM, pid, "active", "approved on the command line")
    _print(_run(participants.create_api_key, db, SYSTEM, pid, "created on the command line"))


@app.command("user-add")
def user_add(
    participant: str,
    email: str,
    name: str,
    role: Annotated[str, typer.Option(help="viewer, trader, account_manager or administrator")] = (
        "trader"
    ),
) -> None:
    """Create a portal user of a participant; its password is generated and shown once."""
    import secrets

    from tanso.services.access import users

    password = secrets.token_urlsafe(12)
    created = _run(
        users.create, _db(), SYSTEM, users.NewUser(participant, email, name, role, password)
    )
    _print(plain(created) | {"password": password})


@registry_app.command("issue")
def issue_cmd(
    project: str,
    credit_type: str,
    round_: Annotated[str, typer.Argument(metavar="ROUND")],
    vintage: int,
    quantity: int,
    account: str,
) -> None:
    """Issue credits of a project into a holding account."""
    n = registry.NewIssuance(project, credit_type, round_, vintage, quantity, account)
    _print(_run(registry.issue, _db(), SYSTEM, n))


@registry_app.command("transfer")
def transfer_cmd(
    from_account: str, to_account: str, quantity: Qty = None, serials: Serials = None
) -> None:
    """Transfer credits between holding accounts."""
    sel = registry.Selection(quantity=quantity, serials=serials)
    _print(_run(registry.transfer, _db(), SYSTEM, from_account, to_account, sel))


@registry_app.command("retire")
def retire_cmd(
    account: str,
    purpose: str,
    quantity: Qty = None,
    serials: Serials = None,
    beneficiary: Annotated[str, typer.Option()] = "",
    reporting_year: Annotated[int | None, typer.Option()] = None,
    note: Annotated[str, typer.Option()] = "",
    scheme: Annotated[str | None, typer.Option(help="Only credits of this scheme.")] = None,
    category: Annotated[str | None, typer.Option(help="Only credits of this category.")] = None,
    project: Annotated[str | None, typer.Option(help="Only credits of this project.")] = None,
    vintage: Annotated[int | None, typer.Option(help="Only credits of this vintage.")] = None,
    check: Annotated[
        bool, typer.Option(help="Only check: the usage rules' outcome and the credits it takes.")
    ] = False,
) -> None:
    """Retire (無効化) credits for a purpose; --check says what it would do, changing nothing."""
    req = registry.RetirementRequest(
        account,
        registry.Selection(quantity=quantity, serials=serials),
        [purpose],
        beneficiary,
        reporting_year,
        note,
        credits=registry.CreditFilter(scheme, category, project, vintage),
    )
    _print(_run(registry.check_retirement if check else registry.retire, _db(), SYSTEM, req))


@registry_app.command("cancel")
def cancel_cmd(account: str, reason: str, quantity: Qty = None, serials: Serials = None) -> None:
    """Cancel (取消) credits."""
    sel = registry.Selection(quantity=quantity, serials=serials)
    _print(_run(registry.cancel, _db(), SYSTEM, account, sel, reason))


@registry_app.command("withdraw")
def withdraw_cmd(
    account: str,
    external_registry: str,
    external_account: str,
    quantity: Qty = None,
    serials: Serials = None,
) -> None:
    """Withdraw credits to an external registry."""
    sel = registry.Selection(quantity=quantity, serials=serials)
    _print(
        _run(registry.withdraw, _db(), SYSTEM, account, sel, external_registry, external_account)
    )


@registry_app.command("reserve")
def reserve_cmd(
    account: str, reservation: str, quantity: Qty = None, serials: Serials = None
) -> None:
    """Reserve credits under a reservation id."""
    sel = registry.Selection(quantity=quantity, serials=serials)
    _print(_run(registry.reserve, _db(), SYSTEM, account, sel, reservation))


@registry_app.command("release")
def release_cmd(reservation: str) -> None:
    """Release everything reserved under a reservation id."""
    _print(_run(registry.release, _db(), SYSTEM, reservation))


@registry_app.command("freeze")
def freeze_cmd(
    serials: str, reason: str, unfreeze: Annotated[bool, typer.Option()] = False
) -> None:
    """Freeze (or --unfreeze) a serial range."""
    _print(_run(registry.freeze, _db(), SYSTEM, serials, not unfreeze, reason))


@registry_app.command("holdings")
def holdings_cmd(account: str) -> None:
    """Show an account's holdings."""
    h = _run(registry.holdings, _db(), SYSTEM, account)
    table = Table(title=f"{account}: {h.total:,} units")
    for col in ("serials", "status", "scheme", "category", "vintage", "quantity"):
        table.add_column(col, overflow="fold")
    for b in h.blocks:
        table.add_row(b.serials, b.status, b.scheme, b.category, str(b.vintage), f"{b.quantity:,}")
    out.print(table)


@registry_app.command("cash-deposit")
def cash_deposit_cmd(participant: str, amount: int, reference: str, currency: str = "JPY") -> None:
    """Record a bank transfer in (integer minor units)."""
    _print(_run(cash.deposit, _db(), SYSTEM, participant, currency, amount, reference))


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="A JSON-lines scenario, or - for standard input.")],
) -> None:
    """Replay a scenario through the matching engine; print each event as one JSON line."""
    from tanso.replay import run

    if str(file) == "-":
        lines = sys.stdin
    else:
        try:
            lines = file.open(encoding="utf-8")
        except OSError as e:
            err.print(f"[red]cannot read {file}[/red]: {e.strerror}")
            raise typer.Exit(2) from None
    # Plain print, not Rich: stdout must carry nothing but one compact JSON object a line.
    for event in run(lines):
        sys.stdout.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


cli_ops.register(app)
cli_usage.register(app)
cli_points.register(app)
cli_surveillance.register(app)
cli_stats.register(app)
cli_cycle.register(app)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
