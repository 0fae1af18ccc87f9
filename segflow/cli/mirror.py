"""`segflow mlflow`: the MLflow mirror of the model registry (segflow[mlflow] extra): sync."""

from __future__ import annotations

import typer
from rich.table import Table

from segflow.cli.output import console, database, require_extra
from segflow.settings import redact_url

mlflow_app = typer.Typer(help="The MLflow mirror of the model registry: sync.", no_args_is_help=True)


@mlflow_app.command("sync")
def mlflow_sync() -> None:
    """Mirror every model version to MLflow and move its aliases."""
    from segflow.modelling import mlflow_mirror, registry

    require_extra("mlflow", "segflow mlflow sync")
    db = database()
    settings = db.settings
    mirrored = mlflow_mirror.mirror_all(db, settings)
    statuses = {v["version"]: v["status"] for v in registry.list_versions(db)}
    where = redact_url(settings.mlflow_tracking_uri or "")
    table = Table(title=f"MLflow model {settings.mlflow_model_name} at {where}")
    for column in ("segflow version", "status", "MLflow version", "run", "mirrored"):
        table.add_column(column, justify="right" if "version" in column else "left")
    for m in mirrored:
        table.add_row(
            str(m.segflow_version),
            statuses[m.segflow_version],
            m.mlflow_version,
            m.run_id,
            "now" if m.created else "before",
        )
    if mirrored:
        console.print(table)
    else:
        console.print("no model versions yet; run `segflow run`")
    aliases = mlflow_mirror.follow_statuses(db, settings)
    console.print(f"MLflow: {aliases_in_words(aliases)}", highlight=False)


def aliases_in_words(aliases: dict[str, str | None]) -> str:
    """The MLflow aliases in words: 'champion is version 3, challenger is on no version'."""
    return ", ".join(
        f"{alias} is version {target}" if target is not None else f"{alias} is on no version"
        for alias, target in aliases.items()
    )
