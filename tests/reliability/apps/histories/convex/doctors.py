"""Write skew ("on-call doctors"): each goes off call only if another stays on call."""

from syncline import mutation, query, v

from .attempts import count


def _shift(shift):
    return lambda q: q.eq("shift", shift)


@mutation(args={"shifts": v.array(v.string()), "names": v.array(v.string())})
async def open_shifts(ctx, shifts, names):
    for shift in shifts:
        for name in names:
            await ctx.db.insert("doctors", {"shift": shift, "name": name, "on_call": True})


@mutation(args={"id": v.string(), "shift": v.string(), "name": v.string()})
async def go_off_call(ctx, id, shift, name):
    """Read the whole shift; leave only if someone else is on call. Returns what it saw."""
    attempt = count(id)
    rows = await ctx.db.query("doctors").with_index("by_shift", _shift(shift)).collect()
    saw = {row["name"]: row["on_call"] for row in rows}
    me = next(row for row in rows if row["name"] == name)
    others_on = [row for row in rows if row["name"] != name and row["on_call"]]
    if me["on_call"] and others_on:
        await ctx.db.patch(me["_id"], {"on_call": False})
        return {"off": True, "saw": saw, "attempt": attempt}
    return {"off": False, "saw": saw, "attempt": attempt}


@query(args={"shift": v.optional(v.string())})
async def roster(ctx, shift=None):
    """{shift: {name: on_call}} of one shift or all, read in one transaction."""
    rows = (await ctx.db.query("doctors").collect() if shift is None else
            await ctx.db.query("doctors").with_index("by_shift", _shift(shift)).collect())
    out = {}
    for row in rows:
        out.setdefault(row["shift"], {})[row["name"]] = row["on_call"]
    return out
