"""Elle-style list-append transactions over a small set of keys."""

from syncline import ConvexError, mutation, query, v

from .attempts import count

MICRO_OP = v.object({
    "f": v.union(v.literal("append"), v.literal("r")),
    "key": v.string(),
    "value": v.optional(v.float64()),
})


async def _row(ctx, key):
    rows = await ctx.db.query("lists").with_index("by_key", lambda q: q.eq("key", key)).collect()
    if len(rows) > 1:
        raise ConvexError({"duplicate_rows": key, "count": len(rows)})
    return rows[0] if rows else None


@mutation(args={"id": v.string(), "ops": v.array(MICRO_OP), "abort": v.optional(v.boolean())})
async def txn(ctx, id, ops, abort=False):
    """Apply the micro-ops in order; return them with each read's list filled in.

    With `abort` the writes are made and then the mutation raises, so none may be seen."""
    attempt = count(id)
    done = []
    for op in ops:
        row = await _row(ctx, op["key"])
        if op["f"] == "r":
            done.append(["r", op["key"], [] if row is None else row["values"]])
        elif row is None:
            await ctx.db.insert("lists", {"key": op["key"], "values": [op["value"]]})
            done.append(["append", op["key"], op["value"]])
        else:
            await ctx.db.patch(row["_id"], {"values": [*row["values"], op["value"]]})
            done.append(["append", op["key"], op["value"]])
    if abort:
        raise ConvexError({"aborted": id})
    return {"ops": done, "attempt": attempt}


@query(args={"keys": v.array(v.string())})
async def read(ctx, keys):
    """A read-only transaction: the lists of `keys` at one snapshot."""
    return [["r", key, [] if (row := await _row(ctx, key)) is None else row["values"]]
            for key in keys]


@query(args={})
async def final(ctx):
    """Every key's list and how many documents hold it (one, or a duplicate insert)."""
    rows = await ctx.db.query("lists").collect()
    out = {}
    for row in rows:
        entry = out.setdefault(row["key"], {"values": row["values"], "rows": 0})
        entry["rows"] += 1
    return out
