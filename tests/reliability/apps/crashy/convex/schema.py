from syncline import define_schema, define_table, v

schema = define_schema({
    "entries": define_table({"writer": v.string(), "seq": v.float64(), "part": v.float64()})
    .index("by_writer", ["writer", "seq"]),
    "totals": define_table({"writer": v.string(), "count": v.float64()})
    .index("by_writer", ["writer"]),
})
