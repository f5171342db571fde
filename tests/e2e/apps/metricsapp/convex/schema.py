from syncline import define_schema, define_table, v

schema = define_schema({
    "counters": define_table({"name": v.string(), "value": v.float64()}).index("by_name", ["name"]),
    "ticks": define_table({"n": v.float64()}),
})
