"""A live server on PostgreSQL and headless Chromium (Debian's), for tests that drive the pages.

The app and the server start once per session; every test gets emptied tables, the demo world
(seed_world) and fresh browser contexts, so tests do not depend on each other.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.clock import clock
from app.extensions import db
from app.services.demo import seed_world
from tests.conftest import _truncate, make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "hazardloop"


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed for the browser tests: `make browser` installs it ({CHROMIUM} is missing)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_app(pg_url, tmp_path_factory):
    app = make_app(pg_url, tmp_path_factory.mktemp("browser"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    """The base URL of a server whose database holds only the demo world."""
    clock.reset()
    with live_app.app_context():
        _truncate()
        seed_world()
        db.session.remove()
    yield live_app.config["LIVE_URL"]
    clock.reset()
    # Leave the shared database empty: the next test's `app` fixture seeds it afresh.
    with live_app.app_context():
        _truncate()
        db.session.remove()


class Browser:
    """Opens pages as demo users, each in their own browser context (own cookies), and saves screenshots."""

    def __init__(self, chromium, base_url: str):
        self.chromium = chromium
        self.base_url = base_url
        self.contexts = []
        self.csp_violations: list[str] = []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def page(self, width: int = 1280, height: int = 900, locale: str = "zh-CN"):
        context = self.chromium.new_context(viewport={"width": width, "height": height}, locale=locale,
                                            base_url=self.base_url)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        # The pages' Content-Security-Policy must not block anything they need (issue 18): Chromium reports each
        # refusal on the console.
        page.on("console", lambda message: self.csp_violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        return page

    def login(self, username: str, **kwargs):
        page = self.page(**kwargs)
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url("**/tasks")
        return page

    @staticmethod
    def shot(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browser(chromium, live_server):
    b = Browser(chromium, live_server)
    yield b
    b.close()
    assert not b.csp_violations, b.csp_violations
