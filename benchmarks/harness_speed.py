"""How many tests a minute `syncline.testing` allows: a fresh `ConvexTest` per test.

Each "test" makes a `ConvexTest` of tests/testing/app (schema, 15 functions, crons, HTTP
routes), runs one mutation and one query, and closes it. The baseline, in the same run,
is the same mutation and query on one `ConvexTest` kept open: what the calls themselves
cost, so the difference is the price of isolation.

Usage: python benchmarks/harness_speed.py [--tests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncline import api  # noqa: E402
from syncline.testing import ConvexTest  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "tests" / "testing" / "app" / "convex"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "harness_speed.json"


async def one_test(t: ConvexTest) -> None:
    await t.mutation(api.messages.send, {"author": "bench", "body": "hello"})
    assert await t.query(api.messages.list)


async def main_async(count: int) -> dict[str, float]:
    start = time.perf_counter()
    for _ in range(count):
        t = ConvexTest(modules=APP)
        await one_test(t)
        await t.aclose()
    isolated = time.perf_counter() - start
    shared = ConvexTest(modules=APP)
    await one_test(shared)
    start = time.perf_counter()
    for _ in range(count):
        await one_test(shared)
    calls_only = time.perf_counter() - start
    await shared.aclose()
    return {"tests": count, "per_test_ms": isolated / count * 1000,
            "tests_per_minute": count / isolated * 60,
            "baseline_calls_only_ms": calls_only / count * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100)
    results = asyncio.run(main_async(parser.parse_args().tests))
    print(f"fresh ConvexTest per test: {results['per_test_ms']:.1f} ms per test "
          f"({results['tests_per_minute']:,.0f} tests/minute); the same calls on one open "
          f"ConvexTest (baseline): {results['baseline_calls_only_ms']:.2f} ms")
    DEFAULT_OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    DEFAULT_OUTPUT.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
