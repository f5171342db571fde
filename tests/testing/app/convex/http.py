from syncline import HttpRouter, Response, api, http_action

http = HttpRouter()


@http_action
async def post_message(ctx, request):
    data = await request.json()
    await ctx.run_mutation(api.messages.send, {"author": data["author"], "body": data["body"]})
    return Response.json({"ok": True}, status=201)


@http_action
async def whoami(ctx, request):
    identity = await ctx.auth.get_user_identity()
    return Response("anonymous" if identity is None else identity.subject)


http.route(path="/messages", method="POST", handler=post_message)
http.route(path="/whoami", method="GET", handler=whoami)
