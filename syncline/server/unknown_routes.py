"""Answers for requests no API route takes: JSON errors the official CLI stops on.

The `npx convex` CLI retries a 404 for about 30 seconds (and `logs` forever) and reads
`{"code", "message"}` from an error body (ThrowingFetchError in its utils.js). So a path
under `/api/` that syncline does not serve is a 400 `UnknownRoute` naming it, which the
CLI prints and exits on at once; a wrong method stays a 405, as JSON with `Allow`. The
routes `npx convex dev` / `deploy` push TypeScript through get an error that says to use
`syncline dev` / `syncline serve` instead (the issue named `syncline deploy`, which does not
exist: a syncline deployment runs the code of its app folder), as a 403: the status the CLI treats as fatal and
prints the message of alone (a 400 would make `dev` wait for a file change and try again).
Paths outside `/api/` stay a JSON 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from syncline.server.responses import json_response

# What `npx convex dev` / `deploy` call to push code (convex/dist/cjs/cli/lib/deploy2.js,
# config.js): a push of TypeScript functions, which syncline does not run.
PUSH_ROUTES = ("/api/deploy2/", "/api/get_config_hashes", "/api/push_config",
               "/api/prepare_schema", "/api/run_test_function")
PUSH_MESSAGE = (
    "syncline runs Python functions from convex/*.py: `npx convex dev` and `npx convex "
    "deploy` push TypeScript, which it cannot run. Use `syncline dev` (watch and push "
    "while you develop) or `syncline serve` (run the app folder's code in production) "
    "instead.")


def is_push_route(path: str) -> bool:
    return any(path == route or (route.endswith("/") and path.startswith(route))
               for route in PUSH_ROUTES)


async def route_not_found(request: Request, exc: Exception) -> Response:
    """The API app's handler for a request no route matched."""
    path, method = request.url.path, request.method
    if is_push_route(path):
        return json_response({"code": "PushNotSupported", "message": PUSH_MESSAGE}, 403)
    if path.startswith("/api/"):
        return json_response({"code": "UnknownRoute", "message": (
            f"This deployment has no route {method} {path}: syncline does not implement "
            "it. See docs/cli.md for the commands and routes it serves")}, 400)
    return json_response({"code": "NotFound", "message": f"No route {method} {path}"}, 404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """A route matched the path but not the method: 405 as JSON, keeping `Allow`."""
    headers = getattr(exc, "headers", None) or {}
    response = json_response({"code": "MethodNotAllowed", "message": (
        f"{request.method} is not allowed on {request.url.path}"
        + (f": use {headers['Allow']}" if "Allow" in headers else ""))}, 405)
    response.headers.update(headers)
    return response


HANDLERS = {404: route_not_found, 405: method_not_allowed}

