"""The app's tables. Documents are checked against these validators on every write."""

from syncline import define_schema, define_table, v

schema = define_schema({
    "tasks": define_table({
        "text": v.string(),
        "is_completed": v.boolean(),
    }).index("by_completion", ["is_completed"]),
})
