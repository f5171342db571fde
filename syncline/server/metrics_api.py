"""The deployment's metrics over HTTP (system/metrics.py keeps them).

- `GET /metrics`: the Prometheus text format. Needs `Authorization: Convex <admin key>`
  unless the deployment runs with `--metrics-public` (for a scraper on a private network).
- `GET /api/syncline/metrics`: the same figures as JSON (`Metrics.snapshot()`, what
  `syncline metrics` shows); always admin only.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from syncline.server.deployment import Deployment
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)
from syncline.system.prometheus import CONTENT_TYPE, exposition


def metrics_routes(deployment: Deployment) -> list[BaseRoute]:
    metrics = deployment.metrics

    async def prometheus(request: Request) -> Response:
        if not metrics.public:
            try:
                require_admin_key(deployment.admin_keys, request)
            except BadRequest as e:
                return bad_request_response(e)
        # Formatting many functions' series takes a while: off the loop.
        body = await asyncio.get_running_loop().run_in_executor(None, exposition, metrics)
        return Response(body, media_type=CONTENT_TYPE)

    async def snapshot(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response(metrics.snapshot())

    return [Route("/metrics", prometheus, methods=["GET"]),
            Route("/api/syncline/metrics", snapshot, methods=["GET"])]
