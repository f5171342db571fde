"""The scheduler benchmark app's one table: a row per job execution, by run."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "runs": define_table({
        "run": v.string(),
        "i": v.float64(),
        "due": v.float64(),
        "started": v.float64(),
    }).index("by_run", ["run"]),
})
