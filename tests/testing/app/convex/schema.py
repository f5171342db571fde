from syncline import define_schema, define_table, v

schema = define_schema({
    "messages": define_table({"author": v.string(), "body": v.string()}),
    "tasks": define_table({"text": v.string(), "owner": v.string(), "done": v.boolean()})
    .index("by_owner", ["owner"]),
    "events": define_table({"kind": v.string(), "at": v.float64()}),
})
