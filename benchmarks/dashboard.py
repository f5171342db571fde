"""Dashboard benchmark: a 1,000,000-document table's Data page, and a write reaching it.

Against a real `syncline serve` of benchmarks/apps/dashboard_bench (a copy in a temporary
directory), seeded with `--documents` (default 1,000,000) documents in table `big` by
`syncline import --table big` of a JSONL file, and 50 in table `small`:

(a) time to first rows: from navigating a fresh page to `#/data/<table>` to the first row
    of the grid being visible, for `big` and for `small` (so the ratio says whether a
    million documents open as fast as fifty); median of `--rounds` fresh browser contexts.
(b) write to view: with `#/data/big` open (newest first), a `bench:write` mutation over
    HTTP (`POST /api/mutation`, one keep-alive connection) writes a document with a unique
    marker; measured from just before the request until the row with the marker is in the
    page (a MutationObserver in the page stamps it with the same wall clock), next to that
    same request's HTTP round trip as the baseline; medians over `--writes` writes.

`--clear` then clears `big` with the Data page's `clearTable` action (bounded batches,
each its own transaction) and reports its duration and the server's peak RSS before and
after (VmHWM), to show a million-document clear runs in bounded memory.

`--mode browser` (default) uses Debian's headless Chromium (/usr/bin/chromium) driven by
Playwright and the dashboard's Data page; `--mode protocol` measures the same two things
at the sync-protocol level with the official `convex` npm client in Node
(benchmarks/dashboard_protocol.mjs: the Data page's subscription without the page), for
when the page is not there. `--mode both` runs both against the same deployment.

Not a test: it prints figures (and `--json out.json`). Usage:
    python benchmarks/dashboard.py [--documents 1000000] [--rounds 5] [--writes 20]
                                   [--mode browser|protocol|both] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import Server, start_server  # noqa: E402

APP = ROOT / "benchmarks" / "apps" / "dashboard_bench"
CHROMIUM = os.environ.get("SYNCLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
SESSION_KEY = "syncline.dashboard.session"
ROW = '[data-testid="row"]'
TIMEOUT_MS = 120_000
# Stamps every WebSocket message the page receives, to split (b) into "the update reached
# the browser" and "the row was rendered".
WS_TIMES = """
window.__wsTimes = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", () => {
      window.__wsTimes.push(performance.timeOrigin + performance.now());
      if (window.__wsTimes.length > 1000) window.__wsTimes.splice(0, 500);
    });
  }
};
"""


def seed(server: Server, work: Path, documents: int) -> dict[str, float]:
    """Write the JSONL and import it; returns the seconds each step took."""
    started = time.perf_counter()
    path = work / "big.jsonl"
    with path.open("wb") as out:
        for start in range(0, documents, 100_000):
            out.write(b"".join(orjson.dumps({"n": float(i), "group": f"g{i % 100}"}) + b"\n"
                               for i in range(start, min(documents, start + 100_000))))
    small = work / "small.jsonl"
    small.write_bytes(b"".join(orjson.dumps({"n": float(i), "group": "s"}) + b"\n"
                               for i in range(50)))
    written = time.perf_counter()
    for table, file in (("big", path), ("small", small)):
        result = subprocess.run(
            [sys.executable, "-m", "syncline.cli.main", "import", "--table", table, str(file),
             "--dir", str(server.app_dir)], capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            raise SystemExit(f"import failed: {result.stderr}\n{server.output()[-3000:]}")
    imported = time.perf_counter()
    size = server.run("query", "_system/frontend/tableSize", {"table": "big"},
                      admin=True)["value"]
    if size != documents:
        raise SystemExit(f"big holds {size} documents, not {documents}")
    return {"jsonl_s": written - started, "import_s": imported - written}


# ----------------------------------------------------------------------------- browser


def browser_figures(server: Server, rounds: int, writes: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    out: dict[str, object] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            def context():
                ctx = browser.new_context(viewport={"width": 1360, "height": 860})
                ctx.set_default_timeout(TIMEOUT_MS)
                ctx.add_init_script(
                    f"window.localStorage.setItem({SESSION_KEY!r}, {server.admin_key!r});")
                ctx.add_init_script(WS_TIMES)
                return ctx

            # Warm up: the assets in the HTTP cache of the server process, not of a context.
            warm = context()
            warm.new_page().goto(f"{server.url}/dashboard/#/data/small")
            warm.close()
            first_rows: dict[str, list[float]] = {"big": [], "small": []}
            for _ in range(rounds):
                for table in ("big", "small"):
                    ctx = context()
                    page = ctx.new_page()
                    started = time.perf_counter()
                    page.goto(f"{server.url}/dashboard/#/data/{table}")
                    page.locator(ROW).first.wait_for(state="visible")
                    first_rows[table].append((time.perf_counter() - started) * 1000)
                    ctx.close()
            out["first_rows_ms"] = first_rows

            ctx = context()
            page = ctx.new_page()
            page.goto(f"{server.url}/dashboard/#/data/big")
            page.locator(ROW).first.wait_for(state="visible")
            samples = []
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(writes):
                    marker = f"w{i}-{uuid.uuid4().hex[:10]}"
                    page.evaluate("""([marker, selector]) => {
                        window.__seen = new Promise((resolve) => {
                          const found = () => [...document.querySelectorAll(selector)]
                            .some((row) => row.textContent.includes(marker));
                          const observer = new MutationObserver(() => {
                            if (found()) { observer.disconnect();
                                           resolve(performance.timeOrigin + performance.now()); }
                          });
                          observer.observe(document.body, {subtree: true, childList: true,
                                                           characterData: true});
                        });
                    }""", [marker, ROW])
                    sent = time.time() * 1000
                    response = http.post("/api/mutation", json={
                        "path": "bench:write", "args": {"table": "big", "marker": marker},
                        "format": "json"})
                    answered = time.time() * 1000
                    assert response.json()["status"] == "success", response.text
                    seen = page.evaluate("window.__seen")
                    arrived = page.evaluate(
                        "(after) => window.__wsTimes.find((t) => t >= after) ?? null", sent)
                    samples.append({"rtt": answered - sent, "seen": seen - sent,
                                    "ws": None if arrived is None else arrived - sent})
                    page.wait_for_timeout(50)
            ctx.close()
            out["writes"] = samples
        finally:
            browser.close()
    return out


# ----------------------------------------------------------------------------- protocol


def protocol_figures(server: Server, rounds: int, writes: int) -> dict[str, object]:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not on PATH (Node.js 18+ runs the protocol mode)")
    result = subprocess.run(
        [node, str(ROOT / "benchmarks" / "dashboard_protocol.mjs"), server.url,
         server.admin_key, str(rounds), str(writes)],
        capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"node failed:\n{result.stderr}\n{server.output()[-3000:]}")
    raw = json.loads(result.stdout.strip().splitlines()[-1])
    return {"first_rows_ms": raw["firstRows"], "writes": raw["writes"]}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def clear_figures(server: Server, documents: int) -> dict[str, float]:
    """clearTable's duration, and the server's RSS before it and at most while it ran
    (sampled every 50 ms: the import before it may have left a higher peak behind)."""
    pid = server.process.pid
    before = rss_mb(pid)
    samples = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            samples.append(rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    response = httpx.post(f"{server.url}/api/action", timeout=3600, json={
        "path": "_system/frontend/clearTable", "args": {"table": "big"}, "format": "json"},
        headers={"Authorization": f"Convex {server.admin_key}"})
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    body = response.json()
    if body.get("status") != "success":
        raise SystemExit(f"clearTable failed: {body}")
    return {"deleted": body["value"], "seconds": seconds, "rss_before_mb": before,
            "rss_max_during_mb": max(samples)}


# ----------------------------------------------------------------------------- report


def summary(figures: dict[str, object]) -> dict[str, float]:
    first = figures["first_rows_ms"]
    writes = figures["writes"]
    big = statistics.median(first["big"])
    small = statistics.median(first["small"])
    rtt = statistics.median(w["rtt"] for w in writes)
    seen = statistics.median(w["seen"] for w in writes)
    ws = [w["ws"] for w in writes if w.get("ws") is not None]
    extra = {"write_to_browser_message_ms": statistics.median(ws)} if ws else {}
    return {**extra, "first_rows_big_ms": big, "first_rows_small_ms": small,
            "first_rows_ratio_big_to_small": big / small,
            "write_http_rtt_ms": rtt, "write_to_view_ms": seen,
            "write_to_view_ratio_to_rtt": seen / rtt,
            "write_to_view_p90_ms": sorted(w["seen"] for w in writes)[
                int(0.9 * (len(writes) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--mode", choices=("browser", "protocol", "both"), default="browser")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--clear", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="syncline-dashboard-bench-"))
    app = work / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", ".syncline"))
    server = start_server(app, "serve")
    report: dict[str, object] = {"documents": args.documents, "machine": {
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "platform": platform.platform()}}
    try:
        report["seed"] = seed(server, work, args.documents)
        print(f"seeded {args.documents:,} documents: JSONL {report['seed']['jsonl_s']:.1f} s, "
              f"syncline import {report['seed']['import_s']:.1f} s", flush=True)
        modes = ("browser", "protocol") if args.mode == "both" else (args.mode,)
        for mode in modes:
            figures = (browser_figures if mode == "browser" else protocol_figures)(
                server, args.rounds, args.writes)
            figures["summary"] = summary(figures)
            report[mode] = figures
            s = figures["summary"]
            print(f"\n[{mode}] {args.documents:,}-document table vs a 50-document table")
            print(f"  (a) time to first rows: big {s['first_rows_big_ms']:.0f} ms, small "
                  f"{s['first_rows_small_ms']:.0f} ms  (ratio {s['first_rows_ratio_big_to_small']:.2f})")
            print(f"  (b) write -> open data view: {s['write_to_view_ms']:.1f} ms median "
                  f"(p90 {s['write_to_view_p90_ms']:.1f}); the same write's HTTP round trip "
                  f"{s['write_http_rtt_ms']:.1f} ms  (ratio {s['write_to_view_ratio_to_rtt']:.2f})",
                  flush=True)
            if "write_to_browser_message_ms" in s:
                print(f"      of which the update reached the page's WebSocket after "
                      f"{s['write_to_browser_message_ms']:.1f} ms", flush=True)
        if args.clear:
            report["clear"] = clear_figures(server, args.documents)
            c = report["clear"]
            print(f"\nclearTable of {c['deleted']:,.0f} documents: {c['seconds']:.1f} s; server "
                  f"RSS {c['rss_before_mb']:.0f} MB before, at most "
                  f"{c['rss_max_during_mb']:.0f} MB while clearing", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
