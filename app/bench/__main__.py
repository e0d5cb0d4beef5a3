"""`python -m app.bench run|generate|report|summary ...`: the benchmark's own command line."""
from app.bench.cli import bench

if __name__ == "__main__":
    bench(prog_name="python -m app.bench")
