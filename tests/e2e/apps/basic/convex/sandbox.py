"""Functions that probe the determinism guard and the execution limits."""

import datetime
import random
import socket
import subprocess
import time
import uuid

from syncline import action, mutation, query


@query
async def clock(ctx):
    first = time.time()
    busy = sum(range(200_000))
    return {
        "time": first,
        "same": first == time.time() and busy > 0,
        "now": datetime.datetime.now().timestamp(),
        "random": [random.random(), random.random()],
        "uuid": str(uuid.uuid4()),
    }


@action
async def action_clock(ctx):
    first = time.time()
    time.sleep(0.01)
    return {"advanced": time.time() > first}


@query
async def network(ctx):
    socket.create_connection(("127.0.0.1", 9), timeout=1)


@mutation
async def subprocess_call(ctx):
    subprocess.run(["true"], check=False)


@mutation
async def write_file(ctx, path):
    with open(path, "w") as f:
        f.write("x")


@action
async def action_write_file(ctx, path):
    with open(path, "w") as f:
        f.write("x")
    return "written"


@query
async def spin(ctx):
    while True:
        pass


@mutation
async def spin_swallowing(ctx):
    while True:
        try:
            while True:
                pass
        except Exception:
            pass


@query
async def echo(ctx, value=None):
    return value


@query
async def logs(ctx):
    import logging

    print("hello from print")
    logging.getLogger("app").warning("careful")
    return None
