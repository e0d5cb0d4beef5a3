"""`flask admin create`: the first administrator of a new installation (no demo data)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

PASSWORD_ENV = "HAZARDLOOP_ADMIN_PASSWORD"


def register_admin_cli(app: Flask) -> None:
    admin = AppGroup("admin", help="Administrator accounts.")
    app.cli.add_command(admin)

    @admin.command("create")
    @click.option("--username", default="admin", show_default=True, help="The administrator's user name.")
    @click.option("--name", "display_name", default=None, help="Name shown in the pages (default: the user name).")
    @click.option("--email", default=None, help="E-mail address (optional).")
    @click.option("--password", envvar=PASSWORD_ENV, default=None,
                  help=f"The password (or set {PASSWORD_ENV}); asked for when not given.")
    @click.option("--even-if-one-exists", "even_if_exists", is_flag=True,
                  help="Create another administrator although one exists already.")
    def admin_create(username: str, display_name: str | None, email: str | None, password: str | None,
                     even_if_exists: bool) -> None:
        """Create a system administrator (no organisation: manages everything), checked by the password policy."""
        from app.services import users
        from app.services.errors import ServiceError
        from app.services.passwords import MIN_LENGTH

        if users.administrator_exists() and not even_if_exists:
            click.echo("An administrator exists already; nothing was created. Sign in as them and add people in "
                       "the pages, or pass --even-if-one-exists to create another one here.", err=True)
            raise SystemExit(1)
        if password is None:
            password = click.prompt(f"Password for {username} (at least {MIN_LENGTH} characters)", hide_input=True,
                                    confirmation_prompt=True)
        values = {"username": username, "display_name": display_name or username, "role": "admin",
                  "organisation_id": None, "password": password}
        if email:
            values["email"] = email
        try:
            user, _one_time = users.create_user(None, values)
        except ServiceError as exc:
            for name, message in (exc.fields or {"": exc.message}).items():
                click.echo(f"{name}: {message}" if name else message, err=True)
            raise SystemExit(1) from None
        click.echo(f"Administrator {user.username} created; sign in at /login.")
