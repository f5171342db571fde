"""Data tools: table imports (CSV, JSON, JSONL), snapshot ZIPs and the types export JSON loses.

They sit on top of `database` (they write through its transactions) and below `server` and `cli`.
"""
