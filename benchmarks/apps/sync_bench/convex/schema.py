"""The sync benchmark app's one table: messages, newest first per room."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "messages": define_table({
        "room": v.string(),
        "seq": v.float64(),
        "sentAt": v.float64(),
        "body": v.string(),
    }).index("by_room", ["room"]),
})
