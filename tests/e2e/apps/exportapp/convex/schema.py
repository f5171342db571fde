from syncline import define_schema, define_table, v

schema = define_schema({
    "items": define_table({
        "name": v.string(),
        "n": v.float64(),
        "big": v.optional(v.int64()),
        "blob": v.optional(v.bytes()),
        "kind": v.optional(v.union(v.literal("a"), v.literal("b"))),
    }),
    "notes": define_table({"text": v.string(), "item": v.optional(v.id("items"))}),
})
