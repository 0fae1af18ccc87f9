"""`segflow models`: the model registry: list, show, promote."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from segflow.cli.output import console, database, fmt

models_app = typer.Typer(help="The model registry: list, show, promote.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """List model versions, newest first."""
    from segflow.modelling import registry

    versions = registry.list_versions(database())
    if not versions:
        console.print("no model versions yet; run `segflow run`")
        return
    table = Table(title="model versions")
    for column in ("version", "status", "created", "algorithm", "k", "features", "as of", "sample", "silhouette"):
        table.add_column(column, justify="right" if column in ("version", "k", "sample", "silhouette") else "left")
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["status"],
            f"{v['created_at']:%Y-%m-%d %H:%M}",
            v["algorithm"],
            str(v["k"]),
            ",".join(v["features"]),
            str(v["as_of"]),
            f"{v['sample_size']:,}",
            fmt(v["silhouette"], ".3f"),
        )
    console.print(table)


@models_app.command("show")
def models_show(
    version: Annotated[int | None, typer.Argument(help="Model version (default: the champion).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a version: algorithm, metrics, gates, segments."""
    from segflow.modelling import registry

    details = registry.details(database(), version)
    if as_json:
        sys.stdout.write(json.dumps(details, indent=2, default=str) + "\n")
        return
    m = details["metrics"]
    console.print(
        f"[bold]model v{details['version']}[/] ({details['status']}): {details['algorithm']}, "
        f"k={details['k']}, features {', '.join(details['features'])}"
    )
    console.print(
        f"silhouette {m.get('silhouette')}, Davies-Bouldin {m.get('davies_bouldin')}, "
        f"Calinski-Harabasz {m.get('calinski_harabasz')}, smallest segment "
        f"{fmt(m.get('min_share'), '.1%')} of the training sample"
    )
    console.print(
        f"trained as of {details['as_of']} on {details['sample_size']:,} customers; "
        f"{details['gates']['passed']} of {details['gates']['candidates']} candidates passed the gates"
    )
    if pca := details["params"].get("pca"):
        console.print(
            f"model space: PCA, {pca['components']} components explaining {pca['explained_variance']:.1%} of the "
            f"variance (SEGFLOW_PCA_COMPONENTS={pca['n_components']:g})"
        )
    table = Table()
    for column in ("key", "segment", "size", "share of training sample", "action"):
        table.add_column(column, overflow="fold", justify="left" if column in ("key", "segment", "action") else "right")
    for s in details["segments"]:
        # A segment that no longer fitted the name it inherited says which (segflow.modelling.segments: inherited
        # names).
        name = f"{s['name']} (was {s['renamed_from']})" if s.get("renamed_from") else s["name"]
        table.add_row(s["key"], name, f"{s['size']:,}", f"{s['share']:.1%}", s["action"])
    console.print(table)


@models_app.command("promote")
def models_promote(version: Annotated[int, typer.Argument(help="Model version to make champion.")]) -> None:
    """Make a version the champion (retiring the previous)."""
    from segflow.cli.mirror import aliases_in_words
    from segflow.modelling import mlflow_mirror, registry

    db = database()
    registry.promote(db, version)
    console.print(f"model v{version} is now the champion")
    if (aliases := mlflow_mirror.after_promotion(db, db.settings)) is not None:
        console.print(f"MLflow: {aliases_in_words(aliases)}", highlight=False)
