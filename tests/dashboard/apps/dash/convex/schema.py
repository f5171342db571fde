"""The app the dashboard's browser tests open: a few tables with references and indexes."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "users": define_table({
        "name": v.string(),
        "email": v.string(),
    }).index("by_email", ["email"]),
    "tasks": define_table({
        "text": v.string(),
        "done": v.boolean(),
        "priority": v.float64(),
        "owner": v.optional(v.id("users")),
        "tags": v.optional(v.array(v.string())),
    }).index("by_done", ["done", "priority"]).index("by_owner", ["owner"]),
    "big": define_table({
        "n": v.float64(),
        "group": v.string(),
    }).index("by_group", ["group", "n"]).index("by_n", ["n"]),
})
