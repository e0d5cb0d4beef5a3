"""Benchmark sizes. `small` fits CI; `city` is a year of a large city; `tiny` feeds the smoke test."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    hazards: int
    enterprises: int
    districts: int
    townships_per_district: int
    grids_per_township: int
    completions: int          # HTTP task completions driven by the load generator
    latency_samples: int      # requests per latency scenario
    due_timers: int           # timers made due and fired by the scheduler measurement
    engine_seconds: float     # how long each engine-ceiling loop runs


PRESETS = {
    "tiny": Preset("tiny", 200, 20, 1, 2, 2, 40, 10, 20, 0.5),
    "small": Preset("small", 10_000, 1_000, 2, 4, 5, 3_000, 200, 2_000, 5.0),
    "city": Preset("city", 1_000_000, 100_000, 16, 12, 5, 6_000, 100, 10_000, 10.0),
}
