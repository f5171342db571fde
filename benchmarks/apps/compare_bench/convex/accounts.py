"""The fund-transfer measurement: money moves between accounts, never created or lost.

`transfer` reads both accounts and refuses an overdraft (returns false) without
writing, so the sum of all balances stays what `seed` put in; `total` sums them a
page at a time (the client follows `cursor` until `isDone`), staying within the
per-query read limits however many accounts there are.
"""

from syncline import mutation, query, v

TOTAL_PAGE = 4000


@mutation(args={"count": v.float64(), "balance": v.float64()})
async def seed(ctx, count, balance):
    """`count` accounts holding `balance` each, in one transaction; returns their ids."""
    return [await ctx.db.insert("accounts", {"balance": balance}) for _ in range(int(count))]


@mutation(args={"source": v.id("accounts"), "target": v.id("accounts"),
                "amount": v.float64()})
async def transfer(ctx, source, target, amount):
    src = await ctx.db.get(source)
    dst = await ctx.db.get(target)
    if src is None or dst is None:
        raise ValueError("no such account")
    if source == target or amount <= 0 or src["balance"] < amount:
        return False
    await ctx.db.patch(source, {"balance": src["balance"] - amount})
    await ctx.db.patch(target, {"balance": dst["balance"] + amount})
    return True


@query(args={"cursor": v.optional(v.union(v.string(), v.null()))})
async def total(ctx, cursor=None):
    page = await ctx.db.query("accounts").paginate({"numItems": TOTAL_PAGE, "cursor": cursor})
    return {"sum": sum(doc["balance"] for doc in page["page"]), "count": len(page["page"]),
            "isDone": page["isDone"], "cursor": page["continueCursor"]}
