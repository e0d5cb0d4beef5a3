"""Operator commands: `flask seed-demo`, `flask audit verify`, `flask process deploy`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when users exist already.")
    def seed_demo(if_empty: bool) -> None:
        """Create the demo district, enterprises, users (password: hazardloop) and hazards."""
        from app.models import User
        from app.services.demo import seed

        if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
            click.echo("Demo data present; nothing to do.")
            return
        counts = seed()
        click.echo("Demo data created: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    audit = AppGroup("audit", help="The audit trail.")
    app.cli.add_command(audit)

    @audit.command("verify")
    def audit_verify() -> None:
        """Check every hash chain of the audit trail; exit 1 when anything was altered."""
        from app.services.audit import verify

        checked, problems = verify()
        for p in problems:
            click.echo(f"TAMPERED chain={p.chain} seq={p.seq} event={p.event_id}: {p.message}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"Audit trail intact: {checked} events verified.")

    process = AppGroup("process", help="Process definitions.")
    app.cli.add_command(process)

    @process.command("deploy")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--key", default=None, help="Process id (default: the file name).")
    def process_deploy(path: Path, key: str | None) -> None:
        """Deploy a BPMN file as the new active version."""
        from app.services.errors import ServiceError
        from app.services.processes import deploy

        try:
            version = deploy(key or path.stem, path.read_text(encoding="utf-8"), None, note=f"CLI: {path.name}")
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            for element, message in exc.fields.items():
                click.echo(f"{element}: {message}", err=True)
            raise SystemExit(1) from None
        click.echo(f"{version.process_key} version {version.number} is active ({version.sha256[:12]}).")
