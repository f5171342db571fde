"""HTTP routes of the system window that are not functions.

- `GET /api/v1/get_canonical_urls` (admin): `{"convexCloudUrl", "convexSiteUrl"}`, the
  URLs the deployment serves its API and HTTP actions on, as the official CLI reads them
  (deploy2.js) before running a command with them set.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.server.deployment import Deployment
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)


def system_routes(deployment: Deployment) -> list[Route]:
    async def canonical_urls(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"convexCloudUrl": deployment.system.cloud_url,
                              "convexSiteUrl": deployment.system.site_url})

    return [Route("/api/v1/get_canonical_urls", canonical_urls, methods=["GET"])]
