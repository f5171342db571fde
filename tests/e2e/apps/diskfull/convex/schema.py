from syncline import define_schema, define_table, v

schema = define_schema({
    "notes": define_table({"body": v.string(), "padding": v.string()})
    .search_index("by_body", search_field="body"),
})
