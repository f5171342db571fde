"""One HTTP action for tests/e2e/test_http_bounds.py: the size of the body it got."""

from syncline.functions.http_router import HttpRouter, Response, http_action


@http_action
async def size(ctx, request):
    return Response.json({"size": len(await request.body())})


http = HttpRouter()
http.route(path="/size", method="POST", handler=size)
