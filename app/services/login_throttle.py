"""Throttling of wrong passwords per (account, source address), in the limiter's store (Redis when shared).

A stranger guessing from their own address slows down only their own attempts: the account's owner, signing in
from elsewhere, is never locked out. The first LOGIN_FREE_FAILURES are free; then each failure makes that pair
wait twice as long as the last (LOGIN_FIRST_DELAY_SECONDS: 1 s, 2 s, 4 s ...) up to LOGIN_MAX_DELAY_SECONDS. Names that do not exist are
throttled exactly like names that do, so the answers tell nothing about which accounts exist. An administrator
clears an account's throttling with `flask users unlock NAME` (a new generation of its keys).
"""
from __future__ import annotations

import math
import time

from flask import current_app
from limits.storage import Storage, storage_from_string

_EXTENSION = "hazardloop.login_throttle"
_GENERATION_TTL = 400 * 24 * 3600  # outlives every failure window


def shared_store() -> Storage:
    app = current_app._get_current_object()
    store = app.extensions.get(_EXTENSION)
    if store is None:
        store = app.extensions[_EXTENSION] = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    return store


def _prefix(account: str) -> str:
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}:login:{account}"


def normalise(name: str | None) -> str:
    return (name or "").strip().lower()


class Throttle:
    """The failures of one account name from one source address."""

    def __init__(self, name: str | None, source: str | None) -> None:
        self.store = shared_store()
        account = normalise(name)
        generation = self.store.get(f"{_prefix(account)}:generation")
        self.key = f"{_prefix(account)}:{generation}:{source or 'unknown'}"

    def wait_seconds(self) -> int:
        """How long this pair must wait before its next attempt (0: it may try now)."""
        failures = self.store.get(f"{self.key}:failures")
        if failures <= current_app.config["LOGIN_FREE_FAILURES"]:
            return 0
        wait_key = f"{self.key}:wait:{failures}"
        if not self.store.get(wait_key):
            return 0
        return max(1, math.ceil(self.store.get_expiry(wait_key) - time.time()))

    def failed(self) -> None:
        config = current_app.config
        failures = self.store.incr(f"{self.key}:failures", config["LOGIN_FAILURE_WINDOW_HOURS"] * 3600)
        beyond = failures - config["LOGIN_FREE_FAILURES"]
        if beyond > 0:
            delay = min(config["LOGIN_MAX_DELAY_SECONDS"], config["LOGIN_FIRST_DELAY_SECONDS"] * 2 ** min(beyond - 1, 30))
            self.store.incr(f"{self.key}:wait:{failures}", delay)

    def succeeded(self) -> None:
        self.store.clear(f"{self.key}:failures")


def unlock(name: str) -> None:
    """Forget every failure of this account name, from every address."""
    shared_store().incr(f"{_prefix(normalise(name))}:generation", _GENERATION_TTL)
