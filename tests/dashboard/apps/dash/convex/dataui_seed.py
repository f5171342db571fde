"""The data page's browser tests seed the `big` table through this mutation, in batches
(one transaction per call), so a large table is made by the app itself."""

from syncline import mutation, v


@mutation(args={"start": v.float64(), "count": v.float64()})
async def seed_big(ctx, start, count):
    """Insert `big` documents n = start .. start+count-1, in groups g0 .. g9 (n % 10)."""
    for n in range(int(start), int(start + count)):
        await ctx.db.insert("big", {"n": float(n), "group": f"g{n % 10}"})
    return count
