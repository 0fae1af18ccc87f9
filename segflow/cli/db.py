"""`segflow db`: the database's status, URL, migrations, BI logins, stop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from segflow.cli.output import console, database, err_console, load_settings
from segflow.settings import Settings, redact_url
from segflow.storage import embedded, migrations
from segflow.storage.db import Database, describe_url

db_app = typer.Typer(help="The database: status, URL, migrations, BI logins.", no_args_is_help=True)


@db_app.command("url")
def db_url() -> None:
    """Print a connection URL (last line) for psql, BI tools, code."""
    db = Database(load_settings())
    url = db.url
    if url != redact_url(url):
        err_console.print("the password is hidden; it is the one in SEGFLOW_DATABASE_URL")
    console.print(redact_url(url), highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (no-op when current)."""
    db = Database(load_settings())
    applied = migrations.upgrade(db)
    for migration in applied:
        console.print(f"applied {migration.version:03d}_{migration.name}")
    newest = max((m.version for m in migrations.available_migrations()), default=0)
    console.print(f"schema is at version {newest:03d} ({len(applied)} applied now)")


@db_app.command("bi-docs")
def db_bi_docs(
    document: Annotated[
        Path, typer.Argument(help="A Markdown file with the generated section's markers, e.g. docs/bi.md.")
    ],
) -> None:
    """Regenerate docs/bi.md's tables from the BI descriptions."""
    from segflow.serving import bi_catalog

    try:
        text = document.read_text(encoding="utf-8")
        updated = bi_catalog.replace_generated_section(text)
    except OSError as exc:
        err_console.print(f"cannot read {document}: {exc.strerror}")
        raise typer.Exit(1) from None
    except bi_catalog.MissingGeneratedSection as exc:
        err_console.print(f"{document} has no line {exc.missing!r}: add the two marker lines where the tables go")
        raise typer.Exit(1) from None
    if updated == text:
        console.print(f"{document} is up to date")
        return
    document.write_text(updated, encoding="utf-8")
    console.print(f"rewrote the BI tables of {document}")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database runs, where, what it holds."""
    settings = load_settings()
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    if settings.database_url is None:  # the embedded database
        state = embedded.status(settings.pg_dir)
        table.add_row("database", "embedded PostgreSQL")
        table.add_row("data folder", str(state.pg_dir))
        table.add_row("running", f"yes (pid {state.pid})" if state.running else "no")
        if state.url:
            table.add_row("url", state.url)
        _add_listener_rows(table, state, settings)
        if not state.running:
            console.print(table)
            console.print("start it with [bold]segflow db start[/] (or any segflow command)")
            return
    else:
        table.add_row("database", f"external, {describe_url(settings.database_url.get_secret_value())}")
    db = Database(settings)
    versions = migrations.applied_versions(db)
    table.add_row("schema version", f"{max(versions):03d}" if versions else "none (run segflow db upgrade)")
    if versions:
        from segflow.data.features import transactions_summary

        summary = transactions_summary(db)
        table.add_row("transactions", f"{summary['lines']:,} lines, {summary['customers']:,} customers")
    if versions and max(versions) >= 9:
        from segflow.data import aggregates

        kept = aggregates.summary(db)
        if kept["needs_rebuild"]:
            described = f"rebuilt by the next run or `segflow rebuild` ({kept['rebuild_reason']})"
        else:
            described = (
                f"follow {kept['source_table']}: {kept['customers']:,} customers, lines up to "
                f"{kept['watermark_day']}, {kept['pending_keys']:,} changed keys to fold"
            )
        table.add_row("aggregates", described)
    if versions and max(versions) >= 6:
        from segflow.orchestration import attempts

        abandoned = attempts.reap_abandoned(db)
        running = [str(attempt_id) for attempt_id in attempts.running_attempt_ids(db)]
        table.add_row("running attempts", ", ".join(running) if running else "none")
        if abandoned:
            table.add_row("abandoned now", f"{', '.join(map(str, abandoned))} (their process died; rows removed)")
    console.print(table)


def _add_listener_rows(table: Table, state: embedded.EmbeddedStatus, settings: Settings) -> None:
    """How BI tools reach the embedded server, and whether the settings wait for a restart."""
    if state.running and state.socket_dir is not None:
        table.add_row("socket folder", f"{state.socket_dir} (port {state.port})")
    if state.running and state.tcp_port is not None:
        table.add_row(
            "tcp",
            f"host {embedded.TCP_HOST}, port {state.tcp_port}, database {embedded.DATABASE_NAME} "
            "(password logins only, e.g. segflow db create-bi-user)",
        )
    elif state.running:
        table.add_row("tcp", "off (socket only; SEGFLOW_EMBEDDED_TCP_PORT turns it on)")
    wanted = settings.embedded_tcp_port
    if state.running and wanted != state.tcp_port:
        table.add_row(
            "pending",
            f"SEGFLOW_EMBEDDED_TCP_PORT is {wanted if wanted is not None else 'unset'}: applies after "
            "`segflow db stop` and `segflow db start`",
        )


@db_app.command("start")
def db_start(
    port: Annotated[
        int | None,
        typer.Option(
            help="Port of its TCP listener on 127.0.0.1 (default SEGFLOW_EMBEDDED_TCP_PORT; unset: socket only).",
            min=1024,
            max=65535,
        ),
    ] = None,
) -> None:
    """Start the embedded PostgreSQL; print its URL (last line).

    Its TCP listener, when asked for, binds 127.0.0.1 only (BI tools on this machine), so there is no --host."""
    settings = load_settings()
    if port is not None:  # as --port elsewhere: the option wins over the setting
        settings = settings.model_copy(update={"embedded_tcp_port": port})
    if not settings.uses_embedded_database:
        console.print("SEGFLOW_DATABASE_URL points at an external server; segflow does not start it")
        return
    url = Database(settings).url
    state = embedded.status(settings.pg_dir)
    if state.tcp_port is not None:
        console.print(f"listening on {embedded.TCP_HOST}:{state.tcp_port} too (password logins only)", highlight=False)
    if settings.embedded_tcp_port != state.tcp_port:
        applies = (
            f"`segflow db start --port {port}`"
            if port is not None
            else "`segflow db start` applies SEGFLOW_EMBEDDED_TCP_PORT"
        )
        console.print(
            f"it was already running and keeps how it listens: `segflow db stop`, then {applies}",
            highlight=False,
        )
    console.print(url, highlight=False, soft_wrap=True)


@db_app.command("create-bi-user")
def db_create_bi_user(
    name: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, underscores.")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="SEGFLOW_BI_PASSWORD",
            show_envvar=True,
            help="Its password (default: a generated one); the variable keeps it out of `ps`.",
        ),
    ] = None,
) -> None:
    """Create a read-only BI login; print its URL (last line)."""
    from segflow.serving import bi

    settings = load_settings()
    login = bi.create_bi_user(database(settings), name, password)
    what = "created login" if login.created else "new password for the existing login"
    console.print(
        f"{what} {login.name} in {bi.BI_ROLE}, which may read the views of schema {bi.BI_SCHEMA} "
        f"({', '.join(bi.BI_RELATIONS)}) and nothing else",
        highlight=False,
        soft_wrap=True,
    )
    if settings.uses_embedded_database:
        _print_tcp_url(settings, login.name, login.password, shown=password is None)
    if password is None:
        console.print("the generated password is in the URL below; it is not stored anywhere else")
        console.print(login.url, highlight=False, soft_wrap=True)
    else:  # the caller knows the password they chose: keep it out of terminals and logs
        console.print(redact_url(login.url), highlight=False, soft_wrap=True)


def _print_tcp_url(settings: Settings, name: str, password: str, shown: bool) -> None:
    """The login's host/port form when the embedded server listens on TCP (the password hidden unless shown)."""
    state = embedded.status(settings.pg_dir)
    if state.tcp_port is None:
        console.print(
            "the embedded server listens on its socket only (SEGFLOW_EMBEDDED_TCP_PORT adds 127.0.0.1); "
            "the login needs its password there too",
            highlight=False,
            soft_wrap=True,
        )
        return
    url = embedded.tcp_url(state.tcp_port, name, password)
    console.print(
        f"over TCP: host {embedded.TCP_HOST}, port {state.tcp_port}, database {embedded.DATABASE_NAME}, "
        f"user {name}: {url if shown else redact_url(url)}",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (its data stays)."""
    settings = load_settings()
    if not settings.uses_embedded_database:
        console.print("SEGFLOW_DATABASE_URL points at an external server; segflow does not stop it")
        return
    stopped = embedded.stop(settings.pg_dir)
    console.print("stopped the embedded PostgreSQL" if stopped else "the embedded PostgreSQL was not running")
