"""`python -m app.bench run --preset small|city` and `python -m app.bench generate` (the city only, kept)."""
from __future__ import annotations

from pathlib import Path

import click

from app.bench.presets import PRESETS

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

bench = click.Group("bench", help="City-scale benchmark against PostgreSQL (its own database).")
_preset = click.option("--preset", type=click.Choice(sorted(PRESETS)), default="small", show_default=True)
_admin = click.option("--admin-url", envvar="BENCH_ADMIN_URL", default=ADMIN_URL, show_default=True,
                      help="A PostgreSQL URL allowed to create and drop the benchmark database.")
_db = click.option("--database", default="hazardloop_bench", show_default=True,
                   help="Name of the benchmark database (dropped and created; never a test database).")


@bench.command("run")
@_preset
@_admin
@_db
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
@click.option("--keep", is_flag=True, help="Keep the benchmark database afterwards.")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: one per core).")
def run_command(preset: str, admin_url: str, database: str, out: Path, keep: bool, workers: int | None) -> None:
    """Build the synthetic city and measure it; write <out>/<preset>.json and .md."""
    from app.bench.run import run

    _check_name(database)
    run(PRESETS[preset], admin_url, database, out, keep=keep, workers=workers, log=click.echo)


@bench.command("import-lists")
@_preset
@_admin
@click.option("--database", default="hazardloop_bench_import", show_default=True,
              help="Name of the database the import fills (dropped and created; never a test database).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
@click.option("--keep", is_flag=True, help="Keep the database afterwards.")
@click.option("--workers", type=int, default=None, help="gunicorn workers for the lists (default: one per core).")
@click.option("--random-page-cost", type=float, default=1.1, show_default=True,
              help="The database's random_page_cost (the README's production advice for SSD storage; "
                   "0 keeps the server's).")
def import_lists_command(preset: str, admin_url: str, database: str, out: Path, keep: bool,
                         workers: int | None, random_page_cost: float) -> None:
    """Only the bulk-onboarding steps: import the preset's city from a workbook (and again, unchanged), then
    time the administrators' enterprise and people lists; write <out>/import-<preset>.json and .md."""
    from app.bench import importing

    _check_name(database)
    results = importing.run_steps(PRESETS[preset], admin_url, database, out, workers=workers, keep=keep,
                                  log=click.echo, random_page_cost=random_page_cost or None)
    click.echo(importing.write(preset, results, out))


@bench.command("generate")
@_preset
@_admin
@_db
def generate_command(preset: str, admin_url: str, database: str) -> None:
    """Only build the synthetic city (kept), e.g. to explore query plans."""
    from app.bench.run import build

    _check_name(database)
    summary = build(PRESETS[preset], admin_url, database, log=click.echo)
    click.echo(f"{summary['url']}: {summary['load']['counts']} in {summary['load']['seconds']['total']} s")


@bench.command("statistics")
@_preset
@_admin
@_db
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
@click.option("--samples", type=int, default=20, show_default=True, help="Requests per scenario.")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: one per core).")
@click.option("--note", default="", help="A line for the report (how the city was built, what else ran).")
@click.option("--random-page-cost", type=float, default=1.1, show_default=True,
              help="The database's random_page_cost (the README's production advice for SSD storage; "
                   "0 keeps the server's).")
def statistics_command(preset: str, admin_url: str, database: str, out: Path, samples: int, workers: int | None,
                       note: str, random_page_cost: float) -> None:
    """Only the statistics step, over a city kept by `generate` (or `run --keep`): the dashboard and API for a
    district and the whole city, each period and grouping, and the national table; writes
    <out>/statistics-<preset>.md and .json."""
    import sqlalchemy as sa

    from app.bench import stats_step

    _check_name(database)
    url = sa.engine.make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    if random_page_cost:
        from app.bench import city

        city.set_random_page_cost(admin_url, database, random_page_cost)
        note = f"{note} random_page_cost = {random_page_cost:g} on the database (README, Operations).".strip()
    click.echo(stats_step.run_on(url, out, preset, samples, workers, log=click.echo, note=note))


def _check_name(database: str) -> None:
    if "test" in database or not database.replace("_", "").isalnum():
        raise click.BadParameter("use a dedicated benchmark database name (letters, digits, _; not a test one)",
                                 param_hint="--database")


@bench.command("report")
@_preset
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
def report_command(preset: str, out: Path) -> None:
    """Re-evaluate the targets and rewrite <out>/<preset>.md from <out>/<preset>.json."""
    import json

    from app.bench import report

    results = json.loads((out / f"{preset}.json").read_text(encoding="utf-8"))
    report.evaluate(results, out)
    report.write(results, out)
    click.echo(out / f"{preset}.md")


@bench.command("summary")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
def summary_command(out: Path) -> None:
    """Print the headline figures of every preset in <out> side by side (Markdown, for the README)."""
    import json

    from app.bench import report

    runs = {p: json.loads((out / f"{p}.json").read_text(encoding="utf-8"))
            for p in ("small", "city") if (out / f"{p}.json").exists()}
    click.echo(report.summary(runs), nl=False)


@bench.command("storage")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True)
@click.option("--rounds", type=int, default=100, show_default=True)
def storage_command(out: Path, rounds: int) -> None:
    """Upload and download cost: the local folder against an S3-compatible store; writes <out>/storage.md."""
    from app.bench.storage import run

    results = run(out, rounds)
    click.echo((out / "storage.md").read_text(encoding="utf-8"))
    click.echo(f"({results['rounds']} rounds)")
