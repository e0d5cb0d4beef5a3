"""Server-rendered pages (Jinja): one blueprint per feature, templates under app/templates/<feature>/."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from app.extensions import login_manager


def register(app: Flask) -> None:
    """Register the page blueprints, the app-wide error pages and the template helpers."""
    from app.web.pages import auth, designer, enterprises, errors, hazards, main, tasks, view

    for blueprint in (main.bp, auth.bp, tasks.bp, hazards.bp, enterprises.bp, designer.bp, errors.bp):
        app.register_blueprint(blueprint)
    view.init_app(app)
    from app.web.pages import checklists, extension_requests, notifications  # deadlines (issue 5)

    for blueprint in (notifications.bp, extension_requests.bp, checklists.bp):
        app.register_blueprint(blueprint)
    # The organisation tree, people and passwords (issue 12).
    from app.web.pages import admin_import, admin_orgs, admin_users

    app.register_blueprint(admin_orgs.bp)
    app.register_blueprint(admin_users.bp)
    # Printable documents (issue 13).
    from app.web.pages import documents

    app.register_blueprint(documents.bp)
    app.register_blueprint(admin_import.bp)
    # The supervision dashboard (issue 14).
    from app.web.pages import statistics

    app.register_blueprint(statistics.bp)
    # The enterprises' quarterly and annual reports (issue 14).
    from app.web.pages import reports

    app.register_blueprint(reports.bp)

    # Reports from the public (issue 15).
    from app.web.pages import public

    app.register_blueprint(public.bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "warning"
    # Flask-Login flashes the message; str() translates it in the language of that request.
    login_manager.localize_callback = str
