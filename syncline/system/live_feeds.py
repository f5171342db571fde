"""The feeds the deployment signals (database/feeds.py): what a live dashboard view of
in-memory data subscribes to with `ctx.watch(...)`.

- `metrics`: a function execution finished (its counters and timings moved);
- `logs`: a function log entry was written.

Executions of `_system/...` functions do not signal: the dashboard's own queries would
otherwise re-run themselves forever.
"""

from __future__ import annotations

from collections.abc import Callable

from syncline.database.feeds import Feeds
from syncline.functions.runner import SYSTEM_PREFIX, ExecutionRecord

METRICS_FEED = "metrics"
LOGS_FEED = "logs"


def signalling_feeds(feeds: Feeds, then: Callable[[ExecutionRecord], None] | None
                     ) -> Callable[[ExecutionRecord], None]:
    """An `on_record` callback that signals the metrics and logs feeds, then calls `then`."""

    def on_record(record: ExecutionRecord) -> None:
        if not record.path.startswith(SYSTEM_PREFIX):
            feeds.changed(METRICS_FEED, LOGS_FEED)
        if then is not None:
            then(record)

    return on_record
