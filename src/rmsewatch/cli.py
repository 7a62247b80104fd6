"""The ``rmsewatch`` command line.

Errors rmsewatch raises on purpose map to exit codes in :func:`main`, the only
place that catches them: 2 for bad input, 3 for something not found, 1 for
any other failure the user can act on.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from rmsewatch import __version__
from rmsewatch.errors import RmsewatchError
from rmsewatch.objectives import ObjectivesFile
from rmsewatch.settings import Settings

__all__ = ["cli", "main"]

log = logging.getLogger(__name__)


def _settings_options(func: Any) -> Any:
    """Add the options every store-backed command shares."""
    options = [
        click.option(
            "--bucket",
            default="1h",
            show_default=True,
            help="Event-time bucket width; windows are whole buckets.",
        ),
        click.option(
            "--label-ttl",
            default="7d",
            show_default=True,
            help="How long a prediction waits for its label before it "
            "counts as missing.",
        ),
        click.option(
            "--orphan-ttl",
            default="7d",
            show_default=True,
            help="How long a label waits for its prediction.",
        ),
        click.option(
            "--label-policy",
            type=click.Choice(["first", "last"]),
            default="first",
            show_default=True,
            help="Which of several different labels counts.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(
    bucket: str,
    label_ttl: str,
    orphan_ttl: str,
    label_policy: str,
    max_batch: int = 50_000,
) -> Settings:
    return Settings.from_text(
        bucket=bucket,
        label_ttl=label_ttl,
        orphan_ttl=orphan_ttl,
        label_policy=label_policy,
        max_batch=max_batch,
    )


@click.group()
@click.version_option(__version__, prog_name="rmsewatch")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="[default: info for serve, warning otherwise]",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None) -> None:
    """Monitor RMSE of regression models from predictions and late labels."""
    if log_level is None:
        log_level = "info" if ctx.invoked_subcommand == "serve" else "warning"
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


@cli.command()
@click.option(
    "--db",
    "db_path",
    default="rmsewatch.duckdb",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The DuckDB store file.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--max-batch",
    default=50_000,
    show_default=True,
    type=int,
    help="The most events one ingest request may carry.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Objectives file (rmsewatch.yaml), served at /v1/slos.",
)
@_settings_options
def serve(
    db_path: str,
    host: str,
    port: int,
    max_batch: int,
    config: Path | None,
    bucket: str,
    label_ttl: str,
    orphan_ttl: str,
    label_policy: str,
) -> None:
    """Run the HTTP service on a DuckDB file (loopback by default)."""
    import uvicorn

    from rmsewatch.monitor import Monitor
    from rmsewatch.service import create_app

    settings = _settings(bucket, label_ttl, orphan_ttl, label_policy, max_batch)
    if not _is_loopback(host):
        log.warning(
            "event=serve_exposed host=%s the API has no authentication yet; "
            "bind to loopback or put it behind an authenticating proxy",
            host,
        )
    objectives = _objectives(config)
    monitor = Monitor(db_path, settings, objectives)
    log.info(
        "event=serve host=%s port=%d db=%s settings=%s",
        host,
        port,
        Path(db_path).resolve(),
        json.dumps(settings.describe()),
    )
    try:
        uvicorn.run(
            create_app(monitor),
            host=host,
            port=port,
            log_level=logging.getLevelName(log.getEffectiveLevel()).lower(),
        )
    finally:
        monitor.close()


def _objectives(config: Path | None) -> ObjectivesFile | None:
    if config is None:
        return None
    from rmsewatch.objectives import load_objectives

    return load_objectives(config)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command()
@click.argument("predictions", type=click.Path(dir_okay=False))
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option(
    "--model",
    default="model",
    show_default=True,
    help="Model name for the events (when the files have no model column).",
)
@click.option("--model-column", default=None, help="Column holding the model name.")
@click.option("--version-column", default=None, help="Column holding the version.")
@click.option(
    "--id",
    "id_column",
    default="prediction_id",
    show_default=True,
    help="Prediction id column (in both files).",
)
@click.option(
    "--time",
    "time_column",
    default="ts",
    show_default=True,
    help="Event-time column of the predictions.",
)
@click.option(
    "--label-time",
    "label_time_column",
    default=None,
    help="Time column of the labels [default: same as --time].",
)
@click.option(
    "--prediction",
    "prediction_column",
    default="y_pred",
    show_default=True,
    help="Prediction column.",
)
@click.option(
    "--truth",
    "truth_column",
    default="y_true",
    show_default=True,
    help="True-value column of the labels.",
)
@click.option("--weight", "weight_column", default=None, help="Weight column.")
@click.option(
    "--segment",
    "segment_columns",
    multiple=True,
    help="Segment column of the predictions; repeat for several.",
)
@click.option(
    "--window", default=None, help="Also report each window of this length, e.g. 1d."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--db",
    "db_path",
    default=":memory:",
    show_default=True,
    help="Keep the joined store in this DuckDB file.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar [default: when output is a terminal].",
)
@_settings_options
def evaluate(
    predictions: str,
    labels: str,
    model: str,
    model_column: str | None,
    version_column: str | None,
    id_column: str,
    time_column: str,
    label_time_column: str | None,
    prediction_column: str,
    truth_column: str,
    weight_column: str | None,
    segment_columns: tuple[str, ...],
    window: str | None,
    output_format: str,
    db_path: str,
    progress: bool | None,
    bucket: str,
    label_ttl: str,
    orphan_ttl: str,
    label_policy: str,
) -> None:
    """Join PREDICTIONS with LABELS (CSV, Parquet or NDJSON) and report errors."""
    from rmsewatch.evaluate import Columns, evaluate_files
    from rmsewatch.report import render_evaluation

    columns = Columns(
        prediction_id=id_column,
        ts=time_column,
        label_ts=label_time_column or time_column,
        y_pred=prediction_column,
        y_true=truth_column,
        weight=weight_column,
        segments=segment_columns,
        model=model_column,
        version=version_column,
    )
    show_progress = sys.stderr.isatty() if progress is None else progress
    report = evaluate_files(
        Path(predictions),
        Path(labels),
        columns,
        model=model,
        settings=_settings(bucket, label_ttl, orphan_ttl, label_policy),
        window=window,
        db_path=db_path,
        progress=show_progress,
    )
    render_evaluation(report, output_format)


@cli.command()
@click.option(
    "--db",
    "db_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Store file [default: a new file in a temporary folder].",
)
@click.option(
    "--port", default=0, type=int, help="Port for the service [default: a free one]."
)
@click.option(
    "--keep-running",
    is_flag=True,
    help="Leave the service up for queries after the summary.",
)
def demo(db_path: str | None, port: int, keep_running: bool) -> None:
    """Replay a year of real New York flights through the service."""
    from rmsewatch.demo.run import run_demo

    run_demo(db_path=db_path, port=port, keep_running=keep_running)


@cli.group()
def slo() -> None:
    """Service level objectives on model error (rmsewatch.yaml)."""


@slo.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def slo_check(file: Path) -> None:
    """Check an objectives FILE; report every mistake with its path in the file."""
    from rmsewatch.objectives import load_objectives

    objectives = load_objectives(file)
    for objective in objectives.slos:
        click.echo(
            f"{objective.name}: {objective.sli.kind} on {objective.model}, "
            f"target {objective.target:g} over {objective.time_window} "
            f"({objective.budgeting})"
        )
    click.echo(f"{file}: {len(objectives.slos)} objective(s), no mistakes")


@slo.command("status")
@click.option(
    "--config",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The objectives file.",
)
@click.option(
    "--db",
    "db_path",
    default="rmsewatch.duckdb",
    show_default=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The store to evaluate (opened while no serve holds it).",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]),
              default="table", show_default=True)  # fmt: skip
@click.argument("name", required=False)
@_settings_options
def slo_status(
    config: Path,
    db_path: str,
    output_format: str,
    name: str | None,
    bucket: str,
    label_ttl: str,
    orphan_ttl: str,
    label_policy: str,
) -> None:
    """Evaluate the objectives (or the one NAME) at their models' clocks.

    Give the settings the store is served with: --label-ttl decides which
    slices are settled.
    """
    from rmsewatch.monitor import Monitor
    from rmsewatch.report import render_slo_status

    settings = _settings(bucket, label_ttl, orphan_ttl, label_policy)
    monitor = Monitor(db_path, settings, _objectives(config))
    try:
        render_slo_status(monitor.slo_status(name), output_format)
    finally:
        monitor.close()


def main() -> None:
    """Run the command line, mapping rmsewatch's errors to exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RmsewatchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
