"""The `convex_test` pytest fixture (registered as a pytest plugin when syncline is installed).

`convex_test(schema=None, modules="convex")` returns a fresh `ConvexTest`; every one the
test made is closed afterwards. `modules` defaults to the `convex/` folder of the
directory pytest runs in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from syncline.testing.harness import ConvexTest


@pytest.fixture
def convex_test() -> Iterator[Callable[..., ConvexTest]]:
    made: list[ConvexTest] = []

    def make(schema: Any = None, modules: Any = "convex", **options: Any) -> ConvexTest:
        t = ConvexTest(schema, modules, **options)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()
