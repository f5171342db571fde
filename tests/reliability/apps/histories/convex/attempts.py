"""How many times this server process ran a transaction: evidence of OCC retries.

A module global outlives one execution, so a mutation re-run after a write conflict
sees its own earlier attempts; the committed attempt reports the count. A test app
only: real functions must not keep state between executions."""

import threading
from collections import OrderedDict

_RUNS: OrderedDict[str, int] = OrderedDict()
_KEEP = 100_000
_LOCK = threading.Lock()  # executions run on worker threads too


def count(txn_id: str) -> int:
    with _LOCK:
        runs = _RUNS.get(txn_id, 0) + 1
        _RUNS[txn_id] = runs
        if len(_RUNS) > _KEEP:
            _RUNS.popitem(last=False)
        return runs
