"""The pytest harness for app developers: `ConvexTest` runs an app's functions in-process.

```python
from syncline import api
from syncline.testing import ConvexTest

async def test_sending(convex_test):          # the fixture: a fresh deployment per call
    t = convex_test()                           # or ConvexTest(schema, "convex/")
    await t.mutation(api.messages.send, {"body": "Hi!", "author": "Sarah"})
    assert [m["body"] for m in await t.query(api.messages.list)] == ["Hi!"]
```
"""

from syncline.testing.harness import (
    ConvexTest,
    FunctionError,
    ScheduledFailure,
    SyncConvexTest,
    TestResponse,
)

__all__ = ["ConvexTest", "FunctionError", "ScheduledFailure", "SyncConvexTest", "TestResponse"]
