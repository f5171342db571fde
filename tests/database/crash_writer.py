"""Child process for the crash test: commits forever, printing each acknowledged commit."""

from __future__ import annotations

import asyncio
import sys

from syncline.database import Database


async def main(path: str, durability: str, first_seq: int) -> None:
    db = Database(path, durability=durability)  # type: ignore[arg-type]
    counter = first_seq

    async def writer(worker: int) -> None:
        nonlocal counter
        while True:
            counter += 1
            seq = float(counter)

            async def fn(tx, seq=seq):
                # one commit writes three documents in two tables: all or none must survive
                await tx.insert("left", {"seq": seq, "part": 0.0})
                await tx.insert("left", {"seq": seq, "part": 1.0})
                await tx.insert("right", {"seq": seq, "pad": "x" * 2000})
            await db.run_transaction(fn)
            sys.stdout.write(f"{int(seq)}\n")
            sys.stdout.flush()

    await asyncio.gather(*(writer(w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
