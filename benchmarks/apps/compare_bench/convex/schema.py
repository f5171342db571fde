"""The comparison benchmark's tables; PocketBase gets collections of the same shape.

- `items`: preloaded before the read measurements and never written after, so both
  peers read the same number of records; `by_n` serves "the 50 newest before n".
- `inserts`: the target of the creates measurement (kept apart from `items`, so the
  read measurements see the same table size whichever peer created faster).
- `feed`: the table the fan-out subscribers watch; `seq` numbers the writes.
- `accounts`: the fund-transfer measurement (syncline only).
"""

from syncline import define_schema, define_table, v

schema = define_schema({
    "items": define_table({"body": v.string(), "n": v.float64()}).index("by_n", ["n"]),
    "inserts": define_table({"body": v.string(), "n": v.float64()}),
    "feed": define_table({"body": v.string(), "seq": v.float64()}),
    "accounts": define_table({"balance": v.float64()}),
})
