"""The dashboard benchmark's app: a big table (seeded by `syncline import`) and a small one."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "big": define_table({"n": v.float64(), "group": v.string(), "marker": v.optional(v.string())})
    .index("by_group", ["group", "n"]),
    "small": define_table({"n": v.float64(), "group": v.string(),
                           "marker": v.optional(v.string())}),
})
