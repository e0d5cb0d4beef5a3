"""The export measurement (issue 14), run as its own process so that its peak RSS is the export's alone.

`python -m app.bench.exports DB_URL OUT.json`: the whole city's register (every hazard, as the city's
administrator sees it) and the listed-supervision ledger exported through the real routes (GET
/api/v1/hazards/export, GET /api/v1/ledger/export, the Flask test client reading the streamed answer chunk by chunk
and throwing it away), each with its rows, seconds, bytes and this process's peak RSS after it (target: < 200 MB).
"""
from __future__ import annotations

import json
import sys
import time


def measure(db_url: str) -> dict:
    import psycopg

    from app import create_app
    from app.bench import city
    from app.bench.scheduler import peak_rss_mb
    from app.bench.tools import _tokens
    from app.clock import clock
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=db_url, RATELIMIT_ENABLED=False, **city.BENCH_KEYS)
    with psycopg.connect(city.libpq_url(db_url)) as conn:
        sysadmin = conn.execute("""SELECT id FROM user_account WHERE role = 'admin' AND organisation_id IS NULL
                                   ORDER BY id LIMIT 1""").fetchone()[0]
        hazards = conn.execute("SELECT count(*) FROM hazard").fetchone()[0]
        token = _tokens(conn, {sysadmin}, clock.now())[sysadmin]
    results: dict = {"hazards": hazards, "rss_mb_before": peak_rss_mb()}
    client = app.test_client()
    for name, path in (("register", "/api/v1/hazards/export"), ("ledger", "/api/v1/ledger/export")):
        started = time.perf_counter()
        resp = client.get(path, headers={"Authorization": f"Bearer {token}"}, buffered=False)
        size = 0
        for chunk in resp.iter_encoded():
            size += len(chunk)
        resp.close()
        seconds = time.perf_counter() - started
        results[name] = {"status": resp.status_code, "seconds": round(seconds, 1), "bytes": size,
                         "peak_rss_mb": peak_rss_mb()}
    results["peak_rss_mb"] = peak_rss_mb()
    return results


def main(argv: list[str]) -> int:
    result = measure(argv[1])
    with open(argv[2], "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
