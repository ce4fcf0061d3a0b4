"""The command line: ``inboxlink serve | worker | db upgrade | admin … | detect``."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn

from inboxlink import __version__
from inboxlink.config import Settings, load_settings
from inboxlink.domain.enums import Role
from inboxlink.errors import AppError
from inboxlink.jobs.holdings import Holdings
from inboxlink.runtime import Runtime
from inboxlink.services import users
from inboxlink.store import migrate

app = typer.Typer(
    help="inboxlink: connect your team's mailboxes to your CRM.", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
admin_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")

T = TypeVar("T")

#: Inboxes one procrastinate worker process watches at most unless --concurrency says otherwise
#: (issue 9 measures one process holding 1,000 IDLE connections).
DEFAULT_WORKER_INBOXES = 1000


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inboxlink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """inboxlink command line."""


def _with_runtime(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with a runtime, turning user-facing errors into a message and exit code 1."""

    async def main() -> T:
        runtime = Runtime.build(settings or load_settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except AppError as error:
        typer.secho(f"error: {error.message} ({error.code})", err=True, fg="red")
        raise typer.Exit(1) from error


def _upgrade(settings: Settings) -> None:
    """Alembic migrations, plus procrastinate's tables when that engine is chosen."""
    migrate.upgrade(settings)
    if settings.job_engine == "procrastinate":
        from inboxlink.jobs.procrastinate_app import ensure_schema

        asyncio.run(ensure_schema(settings))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8025,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve web and API only; run workers separately.")
    ] = False,
    migrate_db: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Upgrade the database first.")
    ] = True,
) -> None:
    """Serve the web pages and the API (and, unless --no-worker, sync and send in-process)."""
    from inboxlink.ops import logs
    from inboxlink.web import access_log
    from inboxlink.web.app import create_app
    from inboxlink.worker import start_in_process

    settings = load_settings()
    if migrate_db:
        _upgrade(settings)
    runtime = Runtime.build(settings)
    if not no_worker and settings.job_engine != "in_process":
        no_worker = True  # the distributed engine's work runs in ``inboxlink worker`` processes
    application = create_app(runtime, start_worker=None if no_worker else start_in_process)
    typer.echo(
        f"inboxlink {__version__} on http://{host}:{port} (public URL {settings.public_url})"
    )
    logs.configure(settings.log_format)
    access_log.install()
    uvicorn.run(
        application, host=host, port=port, log_config=None, log_level="info", proxy_headers=False
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many inboxes watched at once by this process "
            f"(default: all in-process, {DEFAULT_WORKER_INBOXES} with procrastinate).",
        ),
    ] = None,
    ops_host: Annotated[str, typer.Option(help="Address of the health/metrics server.")] = (
        "127.0.0.1"
    ),
    ops_port: Annotated[
        int | None,
        typer.Option(help="Serve /healthz, /readyz, /metrics and /status on this port."),
    ] = None,
) -> None:
    """Sync inboxes and send queued email, without the web server (production mode).

    SIGTERM or Ctrl+C drains the worker: its inboxes go back to the other workers first.
    """
    from inboxlink.jobs.holdings import Holdings
    from inboxlink.ops import logs
    from inboxlink.ops.server import serve_ops

    settings = load_settings()
    logs.configure(settings.log_format)

    async def run(runtime: Runtime) -> None:
        holdings = Holdings()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        side = (
            [asyncio.create_task(serve_ops(runtime, holdings, ops_host, ops_port))]
            if ops_port
            else []
        )
        typer.echo(f"inboxlink worker running ({settings.job_engine}); SIGTERM drains it")
        try:
            await _work(runtime, holdings, stop, concurrency)
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)

    _with_runtime(run, settings)


async def _work(
    runtime: Runtime, holdings: Holdings, stop: asyncio.Event, concurrency: int | None
) -> None:
    """Run the configured engine's worker until ``stop`` is set."""
    if runtime.settings.job_engine == "procrastinate":
        from inboxlink.jobs.procrastinate_worker import ProcrastinateWorker

        engine = ProcrastinateWorker(
            runtime, holdings, concurrency=concurrency or DEFAULT_WORKER_INBOXES
        )
        await engine.run(stop)
        return
    from inboxlink.worker.runner import Runner

    runner = Runner(runtime, max_inboxes=concurrency, holdings=holdings)
    runner.start()
    try:
        await stop.wait()
    finally:
        await runner.stop()


@app.command()
def detect(
    email: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Recommend a provider and find IMAP/SMTP settings for EMAIL, showing every step tried."""
    from rich.console import Console
    from rich.table import Table

    from inboxlink.discovery.detect import detect as run_detect

    async def work(runtime: Runtime) -> dict[str, object]:
        with Console(stderr=True).status(f"Looking up {email} …"):
            found = await run_detect(
                email,
                settings=runtime.settings,
                resolver=runtime.resolver,
                policy=runtime.policy,
                admin_lookup=None,
            )
        return found.to_dict()

    answer = _with_runtime(work)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    console = Console()
    console.print(f"[bold]{email}[/bold]: provider [bold]{answer['provider']}[/bold]")
    for kind in ("imap", "smtp"):
        server = answer[kind]
        if isinstance(server, dict):
            console.print(
                f"  {kind.upper()}: {server['host']}:{server['port']} ({server['security']}), "
                f"username {server['username']}"
            )
    console.print(f"  source: {answer['source']}")
    table = Table("source", "target", "outcome", "detail", title="Steps tried")
    for step in answer["steps"]:  # type: ignore[attr-defined]
        table.add_row(step["source"], step["target"], step["outcome"], step["detail"])
    console.print(table)
    console.print(str(answer["message"]))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the database migrations (safe to run again)."""
    _upgrade(load_settings())
    typer.echo("database is up to date")


@admin_app.command("setup")
def admin_setup(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    account_name: Annotated[str, typer.Option("--account-name")] = "My company",
    name: Annotated[str, typer.Option()] = "",
) -> None:
    """First-run set-up from the command line: the account and its first super admin."""

    async def work(runtime: Runtime) -> None:
        async with runtime.sessions() as session:
            await users.create_account(
                session, account_name=account_name, email=email, password=password, name=name
            )
            await session.commit()

    _with_runtime(work)
    typer.echo(f"created the account and super admin {email}")


@admin_app.command("create-user")
def create_user(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.MEMBER,
    name: Annotated[str, typer.Option()] = "",
) -> None:
    """Create a user (and the account with it, when inboxlink is not set up yet)."""

    async def work(runtime: Runtime) -> None:
        async with runtime.sessions() as session:
            if await users.needs_setup(session):
                user = await users.create_account(
                    session, account_name="My company", email=email, password=password, name=name
                )
                user.role = role.value
            else:
                account_id = await users.first_account_id(session)
                await users.create_user(
                    session,
                    account_id=account_id,
                    email=email,
                    password=password,
                    role=role,
                    name=name,
                )
            await session.commit()

    _with_runtime(work)
    typer.echo(f"created {role.value} {email}")


@admin_app.command("create-token")
def create_token(
    email: str, name: Annotated[str, typer.Option(help="What the token is for.")] = "cli"
) -> None:
    """Create an API token for a user; the token is the last line printed."""

    async def work(runtime: Runtime) -> str:
        async with runtime.sessions() as session:
            user = await users.user_by_email(session, email)
            if user is None:
                raise AppError("user_not_found", f"There is no user {email}.")
            token = await users.create_api_token(session, user, name)
            await session.commit()
            return token

    token = _with_runtime(work)
    typer.echo(f"API token for {email} (shown once; keep it secret):")
    typer.echo(token)


@admin_app.command("rotate-key")
def rotate_key(
    reseal_only: Annotated[
        bool,
        typer.Option(
            "--reseal-only", help="Only re-seal (after adding a key to INBOXLINK_SECRET_KEY)."
        ),
    ] = False,
) -> None:
    """Start using a new vault key and re-encrypt every stored credential with it."""
    from inboxlink.services.key_rotation import add_key_to_file, reseal_all

    settings = load_settings()
    if not reseal_only:
        if settings.secret_key:
            typer.secho(
                "error: keys come from INBOXLINK_SECRET_KEY; put a new key first in that list, "
                "restart, then run 'inboxlink admin rotate-key --reseal-only'.",
                err=True,
                fg="red",
            )
            raise typer.Exit(1)
        add_key_to_file(settings)
    count = _with_runtime(reseal_all, settings)
    typer.echo(f"re-sealed {count} credential(s) with the newest key")


def main() -> None:
    app()
