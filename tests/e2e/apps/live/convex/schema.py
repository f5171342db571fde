from syncline import define_schema, define_table, v

schema = define_schema({
    "counters": define_table({"name": v.string(), "value": v.float64()}).index("by_name", ["name"]),
    # `rank` spreads inserts over the whole index, so concurrent inserts land inside
    # every page of a paginated query, not only at one end.
    "messages": define_table({
        "channel": v.string(),
        "author": v.string(),
        "body": v.string(),
        "rank": v.float64(),
    }).index("by_channel", ["channel"]).index("by_channel_rank", ["channel", "rank"]),
})
