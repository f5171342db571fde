import asyncio
import time

from syncline import api
from syncline.functions.http_router import HttpRouter, Response, cors, http_action


@http_action
async def echo(ctx, request):
    body = await request.body()
    return Response.json({
        "method": request.method,
        "url": request.url,
        "query": request.query_params,
        "x_custom": request.headers.get("x-custom"),
        "content_type": request.headers.get("content-type"),
        "size": len(body),
    }, headers={"X-Echo": "yes"})


@http_action
async def post_json(ctx, request):
    data = await request.json()
    return Response.json({"got": data}, status=201)


@http_action
async def post_text(ctx, request):
    text = await request.text()
    return Response(text.upper(), headers={"Content-Type": "text/plain"})


@http_action
async def post_bytes(ctx, request):
    data = await request.body()
    return Response(bytes(reversed(data)), headers={"Content-Type": "application/octet-stream"})


def labelled(label):
    @http_action
    async def handler(ctx, request):
        return Response(label)
    return handler


@http_action
async def count(ctx, request):
    name = request.query_params.get("name", "c")
    after = await ctx.run_mutation(api.counter.increment, {"name": name})
    value = await ctx.run_query(api.counter.get, {"name": name})
    return Response.json({"after": after, "value": value})


@http_action
async def fail(ctx, request):
    print("about to fail")
    raise RuntimeError("the handler broke")


@http_action
async def stream(ctx, request):
    async def chunks():
        yield f"first {time.time()}\n"
        await asyncio.sleep(0.3)
        yield f"second {time.time()}\n"
        yield "done\n"
    return Response(chunks(), headers={"Content-Type": "text/plain"})


@http_action
async def cors_hello(ctx, request):
    return Response.json({"hello": "cors"})


http = HttpRouter()
http.route(path="/echo", method="GET", handler=echo)
http.route(path="/echo", method="PUT", handler=echo)
http.route(path="/json", method="POST", handler=post_json)
http.route(path="/text", method="POST", handler=post_text)
http.route(path="/bytes", method="POST", handler=post_bytes)
http.route(path="/files/exact", method="GET", handler=labelled("exact"))
http.route(path_prefix="/files/", method="GET", handler=labelled("files prefix"))
http.route(path_prefix="/files/images/", method="GET", handler=labelled("images prefix"))
http.route(path="/count", method="POST", handler=count)
http.route(path="/fail", method="GET", handler=fail)
http.route(path="/stream", method="GET", handler=stream)

api_cors = cors(http, allowed_origins=["https://example.com"], allowed_headers=["Content-Type",
                "X-Token"], exposed_headers=["X-Echo"], allow_credentials=True, max_age=600)
api_cors.route(path="/cors", method="GET", handler=cors_hello)
api_cors.route(path="/cors", method="POST", handler=cors_hello)
