from syncline import define_schema, define_table, v

schema = define_schema({
    # list-append: one document per key, its `values` the key's list.
    "lists": define_table({"key": v.string(), "values": v.array(v.float64())})
    .index("by_key", ["key"]),
    # bank: accounts with balances; transfers keep the total.
    "accounts": define_table({"name": v.string(), "balance": v.float64()})
    .index("by_name", ["name"]),
    # write skew: doctors of a shift; at least one of them must stay on call.
    "doctors": define_table({"shift": v.string(), "name": v.string(), "on_call": v.boolean()})
    .index("by_shift", ["shift", "name"]),
})
