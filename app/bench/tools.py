"""Pieces the benchmark runs share (run.py, importing.py, stats_step.py): bearer tokens inserted as the app stores them, and the
load-generating client in a process of its own."""
from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from app.bench.server import ROOT


def _tokens(conn, user_ids: set[int], now) -> dict[int, str]:
    """Bearer tokens for these users, inserted directly (only the hash is stored, as the app does)."""
    out = {}
    with conn.cursor() as cur, cur.copy("COPY api_token (user_id, token_hash, created_at, expires_at) "
                                         "FROM STDIN") as copy:
        for uid in user_ids:
            token = secrets.token_urlsafe(24)
            out[uid] = token
            copy.write_row((uid, hashlib.sha256(token.encode()).hexdigest(), now, now + timedelta(days=2)))
    conn.commit()
    return out


def _client(plan: dict, tmp: Path, name: str) -> dict:
    plan_file, out_file = tmp / f"{name}.plan.json", tmp / f"{name}.out.json"
    plan_file.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, str(Path(__file__).with_name("client.py")), str(plan_file), str(out_file)],
                   check=True, cwd=ROOT)
    return json.loads(out_file.read_text(encoding="utf-8"))


def _session_cookie(conn, secret: str, user_id: int, now: datetime) -> str:
    """A signed-in session row and the signed Flask session naming it (what the login form would set)."""
    from flask import Flask

    token = secrets.token_urlsafe(24)
    conn.execute("INSERT INTO login_session (token_hash, user_id, created_at, expires_at) VALUES (%s, %s, %s, %s)",
                 (hashlib.sha256(token.encode()).hexdigest(), user_id, now, now + timedelta(days=2)))
    conn.commit()
    app = Flask("bench")
    app.secret_key = secret
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps({"_user_id": f"{user_id}:{token}", "_fresh": True})


def _pick(conn, sql: str, params=()) -> list:
    return conn.execute(sql, params).fetchall()
