"""City-scale benchmark (`flask bench`): synthetic city, engine ceiling, HTTP throughput, latency, timers.

Tooling, not part of the request path: nothing in app/ imports this package except app/cli.py.
"""
