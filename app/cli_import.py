"""`flask org import FILE.xlsx [--dry-run] [--as USERNAME]`: bulk onboarding from Excel on the command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup


def register_import_cli(app: Flask) -> None:
    org = AppGroup("org", help="The organisation tree: regions, units, enterprises and their people.")
    app.cli.add_command(org)

    @org.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check every row and report, but import nothing.")
    @click.option("--as", "username", default=None,
                  help="Import as this administrator (a district administrator stays within their district); "
                       "default: as a system administrator.")
    @click.option("--batch", type=click.IntRange(1, 10_000), default=1000, show_default=True,
                  help="Rows written per batch.")
    def org_import_command(path: Path, dry_run: bool, username: str | None, batch: int) -> None:
        """Import regions, government units, enterprises and people from a workbook (the template's layout).

        Every bad row is listed (sheet, row, column, reason) and left out; the other rows are imported in one
        transaction. Importing the same file again changes nothing."""
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import Role, User
        from app.services import org_import

        actor = None
        if username is not None:
            actor = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
            if actor is None or not actor.active or actor.role != Role.admin:
                click.echo(f"{username} is not an active administrator.", err=True)
                raise SystemExit(1)
        total = org_import.count_rows(path)
        with click.progressbar(length=max(total, 1), label=f"Importing {path.name}", file=sys.stderr,
                               show_pos=True) as bar:
            try:
                outcome = org_import.import_workbook(actor, path, dry_run=dry_run, batch=batch, progress=bar.update,
                                                     filename=path.name)
            except org_import.ImportFailed as exc:
                click.echo("", err=True)
                click.echo(exc.message, err=True)
                raise SystemExit(2) from None
        for problem in outcome.problems:
            click.echo(f"{problem.sheet} row {problem.row}, {problem.column}: {problem.message}")
        if len(outcome.problems) < outcome.bad_rows:
            click.echo(f"... the first {len(outcome.problems)} problems are listed.")
        for sheet, counts in outcome.counts.items():
            click.echo(f"{sheet}: {counts['created']} created, {counts['updated']} updated, "
                       f"{counts['unchanged']} unchanged, {counts['bad']} bad rows")
        click.echo("Dry run: nothing was imported." if dry_run else
                   f"Imported; {outcome.bad_rows} bad rows left out.")
        if outcome.bad_rows:
            raise SystemExit(1)
