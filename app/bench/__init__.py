"""City-scale benchmark (`python -m app.bench`): synthetic city, engine ceiling, HTTP throughput, latency, timers.

Tooling, not part of the application: nothing outside app/bench imports it, and the production CLI (`flask`)
does not offer it; it creates its own application for each database it measures.
"""
