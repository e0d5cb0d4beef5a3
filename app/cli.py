"""Operator commands: `flask seed-demo`, `flask audit verify|rekey`, `flask users unlock`, `flask process deploy`,
`flask storage migrate`, `flask admin create` (app/cli_admin.py), `flask org import` (app/cli_import.py)."""
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

    @audit.command("rekey")
    @click.option("--from-plain", is_flag=True,
                  help="The trail was written before it was keyed (plain SHA-256): run once after upgrading.")
    @click.option("--old-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                  help="A file holding the previous AUDIT_KEY (to rotate the key).")
    def audit_rekey(from_plain: bool, old_key_file: Path | None) -> None:
        """Re-hash the whole trail with the current AUDIT_KEY, after checking it under the old one (app stopped)."""
        from app.services.audit import RekeyRefused, rekey

        if from_plain == (old_key_file is not None):
            raise click.UsageError("Give exactly one of --from-plain and --old-key-file.")
        old_key = None if from_plain else old_key_file.read_text(encoding="utf-8").strip()
        try:
            count = rekey(old_key)
        except RekeyRefused as exc:
            for p in exc.problems:
                click.echo(f"TAMPERED chain={p.chain} seq={p.seq} event={p.event_id}: {p.message}", err=True)
            click.echo("Nothing re-keyed: the trail does not verify under the old key.", err=True)
            raise SystemExit(1) from None
        click.echo(f"Re-keyed {count} audit events with the current AUDIT_KEY.")

    users = AppGroup("users", help="User accounts.")
    app.cli.add_command(users)

    @users.command("unlock")
    @click.argument("username")
    def users_unlock(username: str) -> None:
        """Lift the throttling of wrong passwords for an account, from every address."""
        from app.services import auth
        from app.services.errors import NotFound

        try:
            user = auth.unlock(username)
        except NotFound as exc:
            click.echo(exc.message, err=True)
            raise SystemExit(1) from None
        click.echo(f"{user.username} may sign in again from every address.")

    shipped = AppGroup("shipped", help="The diagrams and forms that ship with HazardLoop.")
    app.cli.add_command(shipped)

    @shipped.command("install")
    def shipped_install() -> None:
        """Install (or, after an upgrade, update) the shipped forms and diagrams; run after `flask db upgrade`. Public
        reports received before their triage process was installed get their triage now (idempotent)."""
        from app.services.public_reports import start_missing_triages
        from app.services.shipped import install

        for line in install():
            click.echo(line)
        started = start_missing_triages(batch=100000)
        if started:
            click.echo(f"public report triage started for {started} report(s)")

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
        except ServiceError as exc:
            for element, message in exc.fields.items():
                click.echo(f"{element}: {message}", err=True)
            raise SystemExit(1) from None
        click.echo(f"{version.process_key} version {version.number} is active ({version.sha256[:12]}).")

    register_scheduler_cli(app)

    from app.cli_admin import register_admin_cli
    from app.cli_import import register_import_cli

    register_admin_cli(app)
    register_import_cli(app)


    stats = AppGroup("stats", help="The statistics rollup (issue 14).")

    @stats.command("rebuild")
    def stats_rebuild() -> None:
        """Recount the statistics rollups (daily, weekly, monthly) from the hazards: after an import, or a repair."""
        from app.services import statistics
        rows = statistics.rebuild()
        db.session.commit()
        click.echo(f"statistics rebuilt: {rows} rollup rows")

    @stats.command("check")
    def stats_check() -> None:
        """Compare the statistics rollups (daily, weekly, monthly) with a fresh count of the hazards; exit 1 when they differ."""
        from app.services import statistics
        wrong = statistics.differences()
        if wrong:
            click.echo(f"{len(wrong)} rollup rows differ, e.g. {wrong[:3]}; run `flask stats rebuild`", err=True)
            raise SystemExit(1)
        click.echo("statistics agree with the hazards")

    app.cli.add_command(stats)

    reports = AppGroup("reports", help="The enterprises' quarterly and annual hazard reports.")

    @reports.command("open")
    @click.option("--period", required=True, help="A quarter such as 2026Q4, or a year such as 2026.")
    def reports_open(period: str) -> None:
        """Open the report of every active enterprise for PERIOD (idempotent: existing reports are kept)."""
        from app.services import periodic_reports
        from app.services.errors import ServiceError
        try:
            opened = periodic_reports.open_period(period)
        except ServiceError as exc:
            raise click.UsageError(exc.message) from None
        click.echo(f"period {periodic_reports.parse_period(period).key}: {opened} reports opened")

    app.cli.add_command(reports)

    files = AppGroup("storage", help="The file store of photos and documents (STORAGE_URL).")
    app.cli.add_command(files)

    @files.command("migrate")
    @click.option("--from", "source_url", default=None,
                  help="The store to copy from (file:///path or s3://bucket/prefix); UPLOAD_DIR by default.")
    def storage_migrate(source_url: str | None) -> None:
        """Copy the files of a folder (or another store) into STORAGE_URL; run again to resume — files already
        there with the same size are skipped."""
        import sys

        from flask import current_app

        from app.storage import copy_missing, from_url, storage

        source, target = from_url(source_url, current_app.config["UPLOAD_DIR"]), storage()
        if source.url == target.url:
            raise click.UsageError(f"STORAGE_URL is the source itself ({target.url}); set it to the new store.")
        total = sum(1 for _ in source.list())
        with click.progressbar(length=max(total, 1), label=f"Copying {source.url} to {target.url}",
                               file=sys.stderr, show_pos=True) as bar:
            copied, skipped = copy_missing(source, target, progress=bar.update)
        click.echo(f"{copied} files copied, {skipped} already there.")


def register_scheduler_cli(app: Flask) -> None:
    """`flask scheduler run [--once]` and `flask scheduler status`."""
    from flask.cli import AppGroup

    scheduler = AppGroup("scheduler", help="Deadlines, reminders, escalations, scheduled checks, e-mail.")
    app.cli.add_command(scheduler)

    @scheduler.command("run")
    @click.option("--once", is_flag=True, help="Do everything that is due now, then exit.")
    @click.option("--interval", type=float, default=None, help="Seconds between ticks (SCHEDULER_INTERVAL_SECONDS).")
    @click.option("--metrics-port", type=int, envvar="SCHEDULER_METRICS_PORT", default=None,
                  help="Serve this process's Prometheus figures (timers fired) on 127.0.0.1:PORT/metrics.")
    def scheduler_run(once: bool, interval: float | None, metrics_port: int | None) -> None:
        """Run the scheduler: fire due timers, open due checks, send e-mail (any number may run at once)."""
        from flask import current_app

        from app.scheduler import run_forever
        from app.services import timers

        if once:
            total = timers.TickResult()
            while True:  # a tick works through what is due now; later ticks catch what fell due meanwhile
                result = timers.tick()
                for name in ("fired", "alerts", "cancelled", "busy", "failed", "checks_opened", "checks_missed",
                             "emails_sent", "uploads_removed"):
                    setattr(total, name, getattr(total, name) + getattr(result, name))
                if not result:
                    break
            click.echo(f"fired {total.fired} timers, {total.alerts} reminders/escalations, {total.cancelled} "
                       f"no longer needed, {total.failed} failed; opened {total.checks_opened} checks, "
                       f"{total.checks_missed} missed; sent {total.emails_sent} e-mails; removed {total.uploads_removed} unused uploads.")
            return
        interval = interval or float(current_app.config["SCHEDULER_INTERVAL_SECONDS"])
        if metrics_port:
            from app.metrics import serve

            serve(metrics_port)
        click.echo(f"Scheduler running every {interval:g}s; Ctrl-C stops it.")
        run_forever(current_app._get_current_object(), interval)

    @scheduler.command("status")
    def scheduler_status() -> None:
        """How many timers are pending, due now, and failed."""
        from sqlalchemy import func

        from app.clock import clock
        from app.models import Timer, TimerStatus

        pending = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.pending))
        due = db.session.scalar(select(func.count()).select_from(Timer).where(
            Timer.status == TimerStatus.pending, Timer.due_at <= clock.now()))
        failed = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.failed))
        click.echo(f"{pending} pending timers, {due} due now, {failed} failed.")
