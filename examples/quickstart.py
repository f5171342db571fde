"""A small bank-and-messages app on the syncline core engine, with its data under .syncline/.

Run it twice: the data persists, and each run adds to it.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from syncline.database import Database
from syncline.schema import define_schema, define_table, v

SCHEMA = define_schema({
    "accounts": define_table({"owner": v.string(), "balance": v.number()})
    .index("by_owner", ["owner"]),
    "messages": define_table({"channel": v.string(), "author": v.string(), "body": v.string()})
    .index("by_channel", ["channel"]),
})

DATA_DIR = Path(__file__).resolve().parent / ".syncline"


async def ensure_accounts(db: Database) -> list[str]:
    async def fn(tx):
        existing = await tx.query("accounts").collect()
        if existing:
            return [a["_id"] for a in existing]
        return [await tx.insert("accounts", {"owner": name, "balance": 100.0})
                for name in ("ada", "brian", "grace", "linus")]
    return await db.run_transaction(fn)


async def transfer(db: Database, source: str, target: str, amount: float) -> bool:
    async def fn(tx):
        a, b = await tx.get(source), await tx.get(target)
        if a["balance"] < amount:
            return False
        await tx.patch(source, {"balance": a["balance"] - amount})
        await tx.patch(target, {"balance": b["balance"] + amount})
        return True
    return await db.run_transaction(fn)


async def main() -> None:
    with Database(DATA_DIR / "data.sqlite3") as db:
        await db.apply_schema(SCHEMA)
        accounts = await ensure_accounts(db)

        rng = random.Random()
        moves = [transfer(db, *rng.sample(accounts, 2), float(rng.randint(1, 30)))
                 for _ in range(200)]
        done = sum(await asyncio.gather(*moves))
        balances = await db.read(lambda tx: tx.query("accounts").collect())
        print(f"{done} of 200 concurrent transfers went through (the rest lacked funds)")
        for account in balances:
            print(f"  {account['owner']:<6} {account['balance']:>7.2f}")
        print(f"  total  {sum(a['balance'] for a in balances):>7.2f}  (always 400.00)")

        async def post(tx):
            for i in range(5):
                await tx.insert("messages", {"channel": "general", "author": "ada",
                                             "body": f"message {i}"})
        await db.run_transaction(post)

        cursor, page_number = None, 0
        while True:
            async def page(tx, cursor=cursor):
                return await (tx.query("messages")
                              .with_index("by_channel", lambda q: q.eq("channel", "general"))
                              .order("desc")
                              .paginate({"numItems": 10, "cursor": cursor}))
            result = await db.read(page)
            page_number += 1
            print(f"page {page_number}: {[m['body'] for m in result['page']]}")
            if result["isDone"] or page_number == 3:
                break
            cursor = result["continueCursor"]
        print(f"data kept in {DATA_DIR}")


if __name__ == "__main__":
    asyncio.run(main())
