"""The project's settings, with the bare baselines of bench/bare.py added to the URLs (benchmarks only)."""

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare"
