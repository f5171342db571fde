"""The benchmark app's one table."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "items": define_table({"n": v.float64(), "body": v.string()}),
})
