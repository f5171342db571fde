"""HTTP actions: `convex/http.py` defines `http = HttpRouter()` and its routes.

    from syncline.functions.http_router import HttpRouter, Response, http_action

    @http_action
    async def hello(ctx, request):
        return Response(f"hello {request.query_params.get('name', 'world')}")

    http = HttpRouter()
    http.route(path="/hello", method="GET", handler=hello)

Routing: an exact `path` beats any `path_prefix`; among prefixes the longest wins;
no route for the path at all is a 404, routes for it but not for the method a 405.
`cors(http, ...)` registers routes that answer CORS preflights and add CORS headers.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from syncline.errors import SynclineError
from syncline.functions.http_types import Headers, Request, Response

ROUTABLE_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
HttpHandler = Callable[[Any, Request], Awaitable[Response]]

__all__ = [
    "HttpAction", "HttpRouter", "HttpRouterError", "Request", "Response", "Headers",
    "RouteMatch", "cors", "find_router", "http_action",
]


class HttpRouterError(SynclineError):
    """An invalid route or router in `convex/http.py`."""


@dataclass(eq=False)
class HttpAction:
    """A handler registered with `@http_action`: `async def handler(ctx, request)`."""

    handler: HttpHandler

    @property
    def __name__(self) -> str:
        return getattr(self.handler, "__name__", "http_action")

    def __call__(self, ctx: Any, request: Request) -> Awaitable[Response]:
        return self.handler(ctx, request)

    def __repr__(self) -> str:
        return f"<http_action {getattr(self.handler, '__qualname__', self.handler)!r}>"


def http_action(handler: HttpHandler) -> HttpAction:
    """Register an HTTP action: `@http_action async def handler(ctx, request) -> Response`."""
    if isinstance(handler, HttpAction):
        raise HttpRouterError(f"{handler!r} is already an http_action; decorate it once")
    if not inspect.iscoroutinefunction(handler):
        name = getattr(handler, "__qualname__", repr(handler))
        raise HttpRouterError(
            f"http_action handler {name} must be defined with `async def {name}(ctx, request)`"
        )
    return HttpAction(handler)


@dataclass(frozen=True)
class Route:
    method: str
    handler: HttpAction
    path: str | None = None
    path_prefix: str | None = None

    @property
    def label(self) -> str:
        """How the route appears in logs: `GET /hello`, `POST /files/*`."""
        return f"{self.method} {self.path if self.path is not None else self.path_prefix + '*'}"


@dataclass(frozen=True)
class RouteMatch:
    """The result of a lookup: a route (status 200), or 404 / 405 with the allowed methods."""

    route: Route | None
    status: int
    allowed: tuple[str, ...] = ()


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method.upper() not in ROUTABLE_METHODS:
        raise HttpRouterError(
            f"Invalid HTTP method {method!r}: use one of {', '.join(ROUTABLE_METHODS)}"
        )
    return method.upper()


class HttpRouter:
    """The app's HTTP routes (`http = HttpRouter()` in `convex/http.py`)."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Route] = {}
        self._prefix: dict[tuple[str, str], Route] = {}

    def route(self, *, method: str, handler: HttpAction, path: str | None = None,
              path_prefix: str | None = None) -> None:
        """Add a route for exactly `path`, or for every path starting with `path_prefix`
        (which must end with `/`). Raises HttpRouterError for an invalid or duplicate one."""
        method = _check_method(method)
        if (path is None) == (path_prefix is None):
            raise HttpRouterError("A route takes exactly one of path= and path_prefix=")
        if not isinstance(handler, HttpAction):
            raise HttpRouterError(
                f"The handler of {method} {path or path_prefix} must be decorated with "
                f"@http_action, got {handler!r}"
            )
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise HttpRouterError(f"Route path {path!r} must start with '/'")
            key = (path, method)
            if key in self._exact:
                raise HttpRouterError(f"Duplicate route: {method} {path} is already routed")
            self._exact[key] = Route(method, handler, path=path)
        else:
            if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
                raise HttpRouterError(f"Route path_prefix {path_prefix!r} must start with '/'")
            if not path_prefix.endswith("/"):
                raise HttpRouterError(f"Route path_prefix {path_prefix!r} must end with '/'")
            key = (path_prefix, method)
            if key in self._prefix:
                raise HttpRouterError(
                    f"Duplicate route: {method} {path_prefix}* is already routed")
            self._prefix[key] = Route(method, handler, path_prefix=path_prefix)

    def routes(self) -> list[Route]:
        return [*self._exact.values(), *self._prefix.values()]

    def validate(self) -> None:
        """Check the routes again (they may have been edited by hand)."""
        check = HttpRouter()
        for route in self.routes():
            check.route(method=route.method, handler=route.handler, path=route.path,
                        path_prefix=route.path_prefix)

    def _prefix_routes(self, path: str) -> list[Route]:
        """Prefix routes matching `path`, longest prefix first."""
        found = [r for (prefix, _), r in self._prefix.items() if path.startswith(prefix)]
        return sorted(found, key=lambda r: -len(r.path_prefix or ""))

    def lookup(self, method: str, path: str) -> RouteMatch:
        """The route for `method` and `path`: the exact one, else the longest matching
        prefix routed for this method; else 405 if the path is routed for other methods."""
        method = method.upper()
        exact = self._exact.get((path, method))
        if exact is not None:
            return RouteMatch(exact, 200)
        prefixed = self._prefix_routes(path)
        for route in prefixed:
            if route.method == method:
                return RouteMatch(route, 200)
        allowed = {m for (p, m) in self._exact if p == path} | {r.method for r in prefixed}
        if allowed:
            return RouteMatch(None, 405, tuple(sorted(allowed)))
        return RouteMatch(None, 404)

    def __repr__(self) -> str:
        return f"<HttpRouter {len(self.routes())} routes>"


def find_router(module: types.ModuleType | None) -> HttpRouter | None:
    """The router `convex/http.py` defines as `http`, or None without an http.py.
    Raises HttpRouterError if it defines none or an invalid one."""
    if module is None:
        return None
    router = getattr(module, "http", None)
    if not isinstance(router, HttpRouter):
        found = "" if router is None else f"; found {type(router).__name__}"
        raise HttpRouterError(f"convex/http.py must define `http = HttpRouter()`{found}")
    router.validate()
    return router


# -- CORS ------------------------------------------------------------------------------------


class CorsRouter:
    """Routes added through it answer CORS preflights (OPTIONS) and carry CORS headers.
    Made by `cors(http, ...)`; see docs/http-actions.md."""

    def __init__(self, http: HttpRouter, *, allowed_origins: Iterable[str] = ("*",),
                 allowed_methods: Iterable[str] | None = None,
                 allowed_headers: Iterable[str] = ("Content-Type",),
                 exposed_headers: Iterable[str] = (), allow_credentials: bool = False,
                 max_age: int | None = 86400) -> None:
        self.http = http
        self.allowed_origins = tuple(allowed_origins)
        if not self.allowed_origins:
            raise HttpRouterError("cors() needs at least one allowed origin (or '*')")
        self.allowed_methods = (None if allowed_methods is None
                                else tuple(_check_method(m) for m in allowed_methods))
        self.allowed_headers = tuple(allowed_headers)
        self.exposed_headers = tuple(exposed_headers)
        self.allow_credentials = allow_credentials
        self.max_age = max_age
        self._methods: dict[tuple[str, str], set[str]] = {}  # (kind, path) -> methods

    def _origin_headers(self, request: Request) -> dict[str, str] | None:
        """The Allow-Origin headers for this request, or None if its origin is not allowed."""
        origin = request.headers.get("origin")
        if "*" in self.allowed_origins and not self.allow_credentials:
            return {"Access-Control-Allow-Origin": "*"}
        if origin is None or ("*" not in self.allowed_origins
                              and origin not in self.allowed_origins):
            return None
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def route(self, *, method: str, handler: HttpAction, path: str | None = None,
              path_prefix: str | None = None) -> None:
        method = _check_method(method)
        if method == "OPTIONS":
            raise HttpRouterError("cors() routes answer OPTIONS themselves; route another method")
        inner = handler

        async def with_cors(ctx: Any, request: Request) -> Response:
            response = await inner(ctx, request)
            headers = self._origin_headers(request)
            if headers is not None and isinstance(response, Response):
                for name, value in headers.items():
                    response.headers.set(name, value)
                if self.exposed_headers:
                    response.headers.set("Access-Control-Expose-Headers",
                                         ", ".join(self.exposed_headers))
            return response

        with_cors.__name__ = with_cors.__qualname__ = getattr(inner, "__name__", "handler")
        if not isinstance(handler, HttpAction):
            raise HttpRouterError(
                f"The handler of {method} {path or path_prefix} must be decorated with "
                f"@http_action, got {handler!r}"
            )
        self.http.route(method=method, handler=HttpAction(with_cors), path=path,
                        path_prefix=path_prefix)
        key = ("path", path) if path is not None else ("prefix", path_prefix or "")
        methods = self._methods.get(key)
        if methods is None:
            methods = self._methods[key] = set()
            preflight = HttpAction(self._preflight_handler(methods))
            if path is not None:
                self.http.route(method="OPTIONS", handler=preflight, path=path)
            else:
                self.http.route(method="OPTIONS", handler=preflight, path_prefix=path_prefix)
        methods.add(method)

    def _preflight_handler(self, methods: set[str]) -> HttpHandler:
        async def cors_preflight(ctx: Any, request: Request) -> Response:
            headers = self._origin_headers(request)
            if headers is None:
                return Response(status=403)
            allowed = self.allowed_methods or tuple(sorted(methods))
            headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
            requested = request.headers.get("access-control-request-headers")
            if self.allowed_headers == ("*",) and requested:
                headers["Access-Control-Allow-Headers"] = requested
            elif self.allowed_headers:
                headers["Access-Control-Allow-Headers"] = ", ".join(self.allowed_headers)
            if self.max_age is not None:
                headers["Access-Control-Max-Age"] = str(self.max_age)
            return Response(status=204, headers=headers)
        return cors_preflight


def cors(http: HttpRouter, *, allowed_origins: Iterable[str] = ("*",),
         allowed_methods: Iterable[str] | None = None,
         allowed_headers: Iterable[str] = ("Content-Type",),
         exposed_headers: Iterable[str] = (), allow_credentials: bool = False,
         max_age: int | None = 86400) -> CorsRouter:
    """A router over `http` whose `route(...)` also registers an OPTIONS preflight route for
    the path and adds CORS headers to the handler's responses (like convex-helpers'
    `corsRouter`). `allowed_methods` defaults to the methods routed through it."""
    return CorsRouter(http, allowed_origins=allowed_origins, allowed_methods=allowed_methods,
                      allowed_headers=allowed_headers, exposed_headers=exposed_headers,
                      allow_credentials=allow_credentials, max_age=max_age)
