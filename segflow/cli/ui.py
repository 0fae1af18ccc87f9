"""`segflow ui`: the Streamlit app on the segflow database, served on loopback by default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from segflow.cli.errors import AppPortTaken, AppStopped
from segflow.cli.output import console, database, err_console, is_loopback, load_settings, require_extra
from segflow.settings import Settings


def ui_command(
    host: Annotated[str | None, typer.Option(help="Address (default SEGFLOW_UI_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SEGFLOW_UI_PORT, 8501).", min=1, max=65535)] = None,
) -> None:
    """Serve the app: segments, customers, what-if, drift, models."""
    require_extra("ui", "segflow ui")
    settings = load_settings()
    # As `segflow api`: the options win over the settings, and the app's command line is built from the result.
    chosen = {"ui_host": host, "ui_port": port}
    settings = settings.model_copy(update={k: v for k, v in chosen.items() if v is not None})
    host, port = settings.ui_host, settings.ui_port
    _check_port_free(host, port)
    database(settings)  # starts the embedded server and migrates here, so a problem is told in this terminal
    import segflow.ui

    app = Path(segflow.ui.__file__).resolve().parent / "app.py"
    command = streamlit_command(settings, app)
    # The app reads its settings from the environment: the resolved home travels, so a relative SEGFLOW_HOME
    # or one from .env names the same folder in the app.
    environment = os.environ | {"SEGFLOW_HOME": str(settings.home)}
    if not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] the app listens on {host} and has no login: whoever reaches it can read "
            "every customer's segment and promote models",
            soft_wrap=True,
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"segflow ui: http://{shown}:{port}  (Ctrl+C stops it)", highlight=False, soft_wrap=True)
    with subprocess.Popen(command, env=environment) as process:
        # Stopped by a service manager (SIGTERM) as by Ctrl+C, the app goes with this command, not orphaned.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            process.terminate()
            returncode = process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
    if returncode not in (0, -2, -15):
        raise AppStopped(returncode)


def streamlit_command(settings: Settings, app: Path) -> list[str]:
    """The command that serves the app's script with segflow's settings (address, port, upload limit)."""
    host, port = settings.ui_host, settings.ui_port
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # Streamlit refuses a larger upload before it reaches the page (its default, 200 MB, would sit in memory).
        "--server.maxUploadSize",
        str(settings.ui_max_upload_mb),
        # The app's code is the installed package's: nothing to watch or reload.
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        # No "Deploy" button: the app runs where its data is.
        "--client.toolbarMode",
        "minimal",
    ]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _check_port_free(host: str, port: int) -> None:
    # Streamlit would only say so in its own log; told here, the message names the setting to change.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server binds: connections of a stopped app lingering in TIME_WAIT do not make the port taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AppPortTaken(host, port, str(exc.strerror or exc)) from None
