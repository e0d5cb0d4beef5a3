"""HazardLoop (隐患闭环): the application factory."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app import keys, logs
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from config import BASE_DIR, Config


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def select_locale() -> str:
    from flask import current_app
    from flask_login import current_user

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the scheduler and CLI commands: no session, no browser
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") if request else None
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    header = request.accept_languages.best_match(languages) if request else None
    return header or current_app.config["BABEL_DEFAULT_LOCALE"]


def _bound_lock_waits(app: Flask) -> None:
    """PostgreSQL: every connection waits at most LOCK_TIMEOUT_MS for a lock (the instance lock of a step that
    someone else is running), then the step answers "busy, try again" (services/unit_of_work.py)."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    timeout = f"-c lock_timeout={int(app.config['LOCK_TIMEOUT_MS'])}"
    connect_args["options"] = f"{connect_args['options']} {timeout}" if connect_args.get("options") else timeout
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(config_object: type[Config] | None = None, **overrides) -> Flask:
    config = config_object or Config
    app = Flask(__name__, instance_path=str(Path(overrides.get("INSTANCE_DIR", config.INSTANCE_DIR)).resolve()))
    app.config.from_object(config)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logs.configure(app)
    keys.resolve(app)  # production refuses to start without SECRET_KEY, AUDIT_KEY and REPORTER_KEY
    _bound_lock_waits(app)
    if app.config.get("DATABASE_REPLICA_URL"):
        from app.extensions import REPLICA_BIND

        app.config["SQLALCHEMY_BINDS"] = {**(app.config.get("SQLALCHEMY_BINDS") or {}),
                                          REPLICA_BIND: app.config["DATABASE_REPLICA_URL"]}

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)

    from app.web import api, login

    login.init_app(app)
    api.init_app(app)

    from app.web import register_pages

    register_pages(app)

    from app.cli import register_cli

    register_cli(app)

    from app.scheduler import start_in_process

    start_in_process(app)  # only with SCHEDULER_IN_PROCESS (make run), never in tests
    return app
