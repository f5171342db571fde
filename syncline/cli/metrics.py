"""`syncline metrics`: a compact view of the running deployment's metrics.

Plain text (fixed-width columns, no colour or box drawing), so it reads the same on a
terminal, in a pipe and in a CI log; `--json` prints the figures as the server gives them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from syncline.cli import console
from syncline.cli.client import admin_request, target_options


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}ms" if value >= 10 else f"{value:.2g}ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render(snapshot: dict[str, Any], limit: int) -> str:
    """The functions with the most calls, then the deployment's figures."""
    rows = [("FUNCTION", "KIND", "CALLS", "ERR%", "P50", "P99", "CACHE", "OCC")]
    for f in snapshot["functions"][:limit]:
        t = f["executionTimeMs"]
        rows.append((f["path"], f["kind"] or "?", str(f["invocations"]), _pct(f["errorRate"]),
                     _ms(t["p50"]), _ms(t["p99"]), _pct(f["cacheHitRate"]),
                     str(f["occConflicts"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    hidden = len(snapshot["functions"]) - limit
    if hidden > 0:
        lines.append(f"... and {hidden} more (--limit)")
    if len(rows) == 1:
        lines.append("(no function calls yet)")
    minutes = snapshot["failureRatePerMinute"]
    last = minutes[-1] if minutes else None
    lag = snapshot["schedulerLagMs"]
    lines += [
        "",
        "failures, latest minute: " + (
            f"{last['failures']}/{last['invocations']} ({_pct(last['failureRate'])})"
            if last else "-"),
        f"scheduler lag: p50 {_ms(lag['p50'])}, p99 {_ms(lag['p99'])} over {lag['count']} "
        f"jobs; running {snapshot.get('jobsRunning', 0)}, queued "
        f"{snapshot.get('jobsQueued', 0)}",
        f"sync: {snapshot.get('syncSessions', 0)} sessions, "
        f"{snapshot.get('syncSubscriptions', 0)} subscriptions",
    ]
    return "\n".join(lines)


@click.command()
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="Show this many functions (those with the most calls).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@target_options
def metrics(limit: int, as_json: bool, url: str | None, admin_key: str | None,
            directory: Path) -> None:
    """Show the running deployment's metrics: calls, errors, latency, cache hits.

    Counts are kept since the deployment's data was created (they survive restarts);
    GET /metrics serves them to Prometheus.
    """
    snapshot = admin_request("GET", "/api/syncline/metrics", url, admin_key, directory,
                             what="Reading metrics")
    if as_json:
        console.print_json(snapshot)
    else:
        click.echo(render(snapshot, limit))
