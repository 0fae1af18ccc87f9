"""`segflow prefect`: the embedded Prefect server's status, start, stop; `setup` of what segflow's runs need on a
Prefect server (the run slot and the failure notification)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from segflow.cli.output import console, err_console, is_loopback, load_settings
from segflow.orchestration import prefect_server
from segflow.settings import redact_url

prefect_app = typer.Typer(help="Prefect: status, start, stop, setup (run slot, alerts).", no_args_is_help=True)


@prefect_app.command("status")
def prefect_status() -> None:
    """Say which Prefect API flows report to, and where its UI is."""
    from segflow.orchestration import prefect_api

    settings = load_settings()
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    configured = prefect_api.configured_api_url()
    state = prefect_server.status(settings.prefect_dir)
    if configured is not None and not (state.state and configured.rstrip("/") == state.state.api_url):
        table.add_row("prefect api", f"{redact_url(configured)} (PREFECT_API_URL; segflow starts no server)")
        if state.state:
            table.add_row("embedded server", f"running (pid {state.state.pid}), unused while PREFECT_API_URL is set")
        console.print(table)
        return
    table.add_row("prefect api", "embedded Prefect server" + (" (PREFECT_API_URL names it)" if configured else ""))
    table.add_row("data folder", str(settings.prefect_dir))
    table.add_row("running", f"yes (pid {state.state.pid})" if state.state else "no")
    if state.state:
        table.add_row("ui", state.state.ui_url)
        table.add_row("api url", state.state.api_url)
    table.add_row("log", str(state.log_path))
    console.print(table)
    if not state.state:
        console.print("start it with [bold]segflow prefect start[/] or any command that runs the flow")


@prefect_app.command("start")
def prefect_start(
    host: Annotated[str | None, typer.Option(help="Address (default SEGFLOW_PREFECT_HOST, 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default SEGFLOW_PREFECT_PORT, 4200; 0: a free one).", min=0, max=65535)
    ] = None,
) -> None:
    """Start the embedded Prefect server; print its UI address (last line)."""
    from segflow.orchestration import prefect_api

    settings = load_settings()
    # As `segflow api` and `segflow ui`: the options win over the settings.
    chosen = {"prefect_host": host, "prefect_port": port}
    settings = settings.model_copy(update={k: v for k, v in chosen.items() if v is not None})
    host, port = settings.prefect_host, settings.prefect_port
    before = prefect_server.status(settings.prefect_dir).state
    # Asked for by name, so started even when PREFECT_API_URL is set (e.g. exported to name this very server).
    state = prefect_server.ensure_running(settings.prefect_dir, port, host)
    if before is not None and (before.host != host or port not in (0, before.port)):
        console.print(
            f"it was already running and keeps its address ({before.host}:{before.port}); to listen on {host}:{port}, "
            "run `segflow prefect stop` first",
            highlight=False,
            soft_wrap=True,
        )
    if not is_loopback(state.host):
        err_console.print(
            f"[bold yellow]warning:[/] the Prefect server listens on {state.host} and has no login: whoever reaches "
            "it can read every run's parameters and logs, and start or cancel runs",
            soft_wrap=True,
        )
    configured = prefect_api.configured_api_url()
    if configured is not None and configured.rstrip("/") != state.api_url:
        console.print(
            f"note: PREFECT_API_URL is {redact_url(configured)}, so commands report there, not to this server",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"the embedded Prefect server runs (pid {state.pid}); API {state.api_url}", highlight=False, soft_wrap=True
    )
    console.print(state.ui_url, highlight=False, soft_wrap=True)


@prefect_app.command("stop")
def prefect_stop() -> None:
    """Stop the embedded Prefect server (its run history stays)."""
    settings = load_settings()
    stopped = prefect_server.stop(settings.prefect_dir)
    console.print("stopped the embedded Prefect server" if stopped else "the embedded Prefect server was not running")


@prefect_app.command("setup")
def prefect_setup(
    automations: Annotated[
        Path,
        typer.Option("--automations", help="Automations file (Prefect's format; run from the repository root)."),
    ] = Path("deployments/automations.yaml"),
) -> None:
    """Create the run slot and the failure alerts (safe to rerun).

    On the Prefect API flows report to: this database's run slot, and with SEGFLOW_ALERT_WEBHOOK_URL the webhook
    block and the failure automations."""
    from segflow.orchestration import alerts, prefect_api, run_guard
    from segflow.storage.db import Database

    settings = load_settings()
    slot = run_guard.slot_name(Database(settings).url)
    api_url = None
    if prefect_api.configured_api_url() is None:
        server = prefect_server.ensure_running(settings.prefect_dir, settings.prefect_port, settings.prefect_host)
        api_url = server.api_url
    with prefect_api.reporting_to(api_url):
        created = run_guard.ensure_slot(slot)
        console.print(
            f"run slot {slot}: {'created' if created else 'exists'} (one segflow run per database at a time)",
            highlight=False,
            soft_wrap=True,
        )
        if settings.alert_webhook_url is None:
            console.print("no SEGFLOW_ALERT_WEBHOOK_URL: failed runs notify nobody (automations left as they are)")
            return
        block_id = alerts.save_webhook_block(settings.alert_webhook_url.get_secret_value())
        applied = alerts.apply_automations(alerts.automations_from_file(automations, block_id))
    console.print(f"webhook block custom-webhook/{alerts.WEBHOOK_BLOCK}: saved", highlight=False, soft_wrap=True)
    for name, automation_id in applied.items():
        console.print(f"automation {name}: {automation_id}", highlight=False, soft_wrap=True)
