"""Baseline for benchmarks/http_api.py: a hand-written JSON endpoint on raw SQLite.

The same server stack syncline's `serve` uses (Starlette on uvicorn with httptools,
one process, access log off, orjson for the bodies) in front of the same SQLite work
syncline does for `items:insert` / `items:get` (WAL, synchronous=FULL, one
transaction per insert, point read by primary key), minus everything else syncline
does. Blocking SQLite calls run in a thread pool, each pool thread with its own
connection, so the event loop is never blocked.

- `POST /insert` `{"n": float, "body": str}` -> `{"status": "success", "value": id}`
- `POST /get` `{"id": str}` -> `{"status": "success", "value": {...} | null}`
- `GET /version` -> `ok` (readiness probe, and the load generator's no-op calibration)

Usage: python sqlite_server.py --db PATH --port P [--threads 32] [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def connect(path: str, durability: str = "full") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability.upper()}")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA mmap_size=268435456")
    return conn


def create_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, created REAL NOT NULL, "
        "n REAL NOT NULL, body TEXT NOT NULL)"
    )


def insert_item(conn: sqlite3.Connection, n: float, body: str) -> str:
    """One durable transaction per insert, as syncline does for one mutation."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        cursor = conn.execute("INSERT INTO items (created, n, body) VALUES (?, ?, ?)",
                              (time.time() * 1000, n, body))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return str(cursor.lastrowid)


def get_item(conn: sqlite3.Connection, item_id: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT id, created, n, body FROM items WHERE id = ?",
                       (item_id,)).fetchone()
    if row is None:
        return None
    return {"_id": str(row[0]), "_creationTime": row[1], "n": row[2], "body": row[3]}


class Store:
    """A thread pool whose threads each own one SQLite connection."""

    def __init__(self, path: str, threads: int) -> None:
        self.path = path
        setup = connect(path)
        create_table(setup)
        setup.close()
        self._local = threading.local()
        self.pool = ThreadPoolExecutor(threads, "sqlite")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    async def insert(self, n: float, body: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, lambda: insert_item(self._conn(), n, body))

    async def get(self, item_id: int) -> dict[str, Any] | None:
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, lambda: get_item(self._conn(), item_id))


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_app(store: Store) -> Starlette:
    async def insert(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            n, text = float(body["n"]), body["body"]
            if not isinstance(text, str):
                raise TypeError("body must be a string")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            return _json({"code": "BadRequest", "message": str(e)}, 400)
        try:
            return _json({"status": "success", "value": await store.insert(n, text)})
        except sqlite3.Error as e:
            return _json({"status": "error", "errorMessage": str(e)})

    async def get(request: Request) -> Response:
        try:
            item_id = int(orjson.loads(await request.body())["id"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            return _json({"code": "BadRequest", "message": str(e)}, 400)
        try:
            return _json({"status": "success", "value": await store.get(item_id)})
        except sqlite3.Error as e:
            return _json({"status": "error", "errorMessage": str(e)})

    async def version(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/insert", insert, methods=["POST"]),
        Route("/get", get, methods=["POST"]),
        Route("/version", version, methods=["GET"]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=32, help="SQLite thread pool size")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio",
                        help="event loop (syncline's `serve` runs on asyncio's own loop)")
    args = parser.parse_args()
    store = Store(args.db, args.threads)
    uvicorn.run(create_app(store), host=args.host, port=args.port, loop=args.loop,
                http="httptools", log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
