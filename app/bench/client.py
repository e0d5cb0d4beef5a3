"""HTTP load generator, run as its own process (`python app/bench/client.py plan.json result.json`).

Standard library only, so that it stays small and imports nothing of the application. A plan is
{"base": "http://127.0.0.1:PORT", "mode": "load" | "latency", "concurrency": n, "seconds": cap,
 "requests": [{"method", "path", "headers", "body", "scenario"}]}.
`load` sends the requests from `concurrency` threads, each once, until done or `seconds` pass;
`latency` sends them one at a time (nothing else in flight) and reports percentiles per scenario.
"""
from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import urlsplit


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Connection:
    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def send(self, req: dict) -> tuple[int, bytes]:
        body = req.get("body")
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(req.get("headers") or {})
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(req.get("method", "GET"), req["path"], body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return resp.status, payload
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def run_load(plan: dict) -> dict:
    requests = plan["requests"]
    lock = threading.Lock()
    position = 0
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + plan.get("seconds", 120)

    def worker() -> None:
        nonlocal position
        conn = Connection(plan["base"])
        while time.perf_counter() < stop_at:
            with lock:
                if position >= len(requests):
                    return
                req = requests[position]
                position += 1
            t0 = time.perf_counter()
            try:
                status, payload = conn.send(req)
            except Exception as exc:  # noqa: BLE001  (a dropped connection is a result, not a crash)
                status, payload = 0, str(exc).encode()
            elapsed = time.perf_counter() - t0
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 200:
                    latencies.append(elapsed)
                elif len(errors) < 5:
                    errors.append(f"{status}: {payload[:300].decode(errors='replace')}")

    cpu0 = os.times()
    threads = [threading.Thread(target=worker) for _ in range(plan["concurrency"])]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu1 = os.times()
    ok = statuses.get("200", 0)
    return {
        "sent": sum(statuses.values()), "ok": ok, "statuses": statuses, "errors": errors,
        "seconds": round(wall, 3), "per_second": round(ok / wall, 1) if wall else 0.0,
        "latency_ms": {f"p{p}": round(1000 * percentile(latencies, p), 1) for p in (50, 95, 99)},
        "client_cpu_seconds": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 2),
    }


def run_latency(plan: dict) -> dict:
    conn = Connection(plan["base"])
    by_scenario: dict[str, list[float]] = {}
    failures: dict[str, list[str]] = {}
    for req in plan["requests"]:
        t0 = time.perf_counter()
        status, payload = conn.send(req)
        elapsed = time.perf_counter() - t0
        name = req["scenario"]
        if req.get("warmup"):
            continue
        if status != 200:
            failures.setdefault(name, []).append(f"{status} {req['path']}: {payload[:200].decode(errors='replace')}")
            continue
        by_scenario.setdefault(name, []).append(elapsed)
    out = {}
    for name, values in by_scenario.items():
        out[name] = {"n": len(values), **{f"p{p}": round(1000 * percentile(values, p), 1) for p in (50, 95, 99)},
                     "max": round(1000 * max(values), 1)}
    for name, problems in failures.items():
        out.setdefault(name, {"n": 0})["failures"] = problems[:3]
        out[name]["failed"] = len(problems)
    return out


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    result = run_load(plan) if plan["mode"] == "load" else run_latency(plan)
    with open(argv[2], "w", encoding="utf-8") as fh:
        json.dump(result, fh, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
