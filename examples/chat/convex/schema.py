"""Channels and their messages."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "channels": define_table({"name": v.string()}).index("by_name", ["name"]),
    "messages": define_table({
        "channel": v.id("channels"),
        "author": v.string(),
        "body": v.string(),
    }).index("by_channel", ["channel"]),
})
