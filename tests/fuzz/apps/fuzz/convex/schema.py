from syncline import define_schema, define_table, v

schema = define_schema({
    "things": define_table({"value": v.any(), "tag": v.optional(v.string())})
    .index("by_value", ["value"]),
}, strict_table_name_types=False)  # store_doc writes the unlisted table "free"

