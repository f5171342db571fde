"""Transfers between accounts: every read must see the same total."""

from syncline import mutation, query, v

from .attempts import count


async def _account(ctx, name):
    return await ctx.db.query("accounts").with_index(
        "by_name", lambda q: q.eq("name", name)).unique()


@mutation(args={"balances": v.record(v.string(), v.float64())})
async def open_accounts(ctx, balances):
    for name, balance in balances.items():
        await ctx.db.insert("accounts", {"name": name, "balance": balance})


@mutation(args={"id": v.string(), "source": v.string(), "target": v.string(),
                "amount": v.float64()})
async def transfer(ctx, id, source, target, amount):
    """Move `amount` unless the source would go negative; say whether it moved."""
    attempt = count(id)
    src, dst = await _account(ctx, source), await _account(ctx, target)
    if src["balance"] < amount:
        return {"applied": False, "attempt": attempt}
    await ctx.db.patch(src["_id"], {"balance": src["balance"] - amount})
    await ctx.db.patch(dst["_id"], {"balance": dst["balance"] + amount})
    return {"applied": True, "attempt": attempt}


@query(args={})
async def read_all(ctx):
    """Every balance, read in one transaction."""
    return {row["name"]: row["balance"] for row in await ctx.db.query("accounts").collect()}
