"""The sync layer: subscriptions, invalidation, the query cache and the WebSocket protocol."""
