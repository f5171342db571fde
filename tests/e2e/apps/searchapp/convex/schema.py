from syncline import define_schema, define_table, v

schema = define_schema({
    "messages": define_table({"body": v.string(), "channel": v.string()})
    .search_index("search_body", search_field="body", filter_fields=["channel"]),
    "foods": define_table({
        "name": v.string(), "cuisine": v.string(), "embedding": v.array(v.float64()),
    }).vector_index("by_embedding", vector_field="embedding", dimensions=4,
                    filter_fields=["cuisine"]),
})
