from syncline import define_schema, define_table, v

schema = define_schema({
    "notes": define_table({"owner": v.string(), "body": v.string()}).index("by_owner", ["owner"]),
    "seen": define_table({"who": v.union(v.string(), v.null()), "where": v.string()}),
})
