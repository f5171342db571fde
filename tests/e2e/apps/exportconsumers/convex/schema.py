from syncline import define_schema, define_table, v

schema = define_schema({
    # Whole and fractional float64s next to int64s: what convex2pg must type as floats.
    "readings": define_table({
        "label": v.string(),
        "value": v.float64(),
        "ratio": v.float64(),
        "count": v.int64(),
        "tags": v.optional(v.array(v.float64())),
    }),
    # A table declared as a union of objects (issue 18 item 2).
    "events": define_table(v.union(
        v.object({"kind": v.literal("click"), "x": v.float64(), "y": v.float64()}),
        v.object({"kind": v.literal("view"), "page": v.string(),
                  "ms": v.optional(v.float64())}),
    )),
})
