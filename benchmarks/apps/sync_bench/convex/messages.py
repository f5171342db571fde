"""What the sync latency benchmark calls: one write, and the query every client watches.

`send` carries the writer's send time (`sentAt`, the benchmark process's
perf_counter) so each subscriber can time the write when it sees it; `latest`
returns a room's newest message. Subscribers of distinct rooms have distinct
cache entries (the memory measurement uses that).
"""

from syncline import mutation, query, v


@mutation(args={"room": v.string(), "seq": v.float64(), "sentAt": v.float64(),
                "body": v.string()})
async def send(ctx, room, seq, sentAt, body):
    return await ctx.db.insert("messages",
                               {"room": room, "seq": seq, "sentAt": sentAt, "body": body})


@query(args={"room": v.optional(v.string())})
async def latest(ctx, room="main"):
    return await (ctx.db.query("messages")
                  .with_index("by_room", lambda q: q.eq("room", room))
                  .order("desc")
                  .first())
