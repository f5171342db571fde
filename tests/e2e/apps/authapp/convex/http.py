from syncline import HttpRouter, Response, http_action

http = HttpRouter()


@http_action
async def whoami(ctx, request):
    try:
        identity = await ctx.auth.get_user_identity()
    except Exception as e:  # a bearer token that does not verify
        return Response(str(e), status=401)
    name = "anonymous" if identity is None else identity.subject
    return Response(name, status=200)


http.route(path="/whoami", method="GET", handler=whoami)
