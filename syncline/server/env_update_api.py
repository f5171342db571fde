"""`POST /api/update_environment_variables`: the route `npx convex env set / remove /
set --from-file` calls.

The body is `{"changes": [{"name", "value"}, ...]}`, a `null` value removing the
variable. Every change is validated before any is applied, and they are applied in
one transaction: all or none (a bad one answers 400 `{code, message}`, which the CLI
prints). Needs `Authorization: Convex <admin key>`; answers `{}`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.functions.environment import EnvironmentVariableError, validate_changes
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import read_json_object
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)

# 100 variables of at most 8 KiB each, escaped as JSON.
MAX_BODY = 2 * 1024 * 1024


def env_update_routes(deployment: Deployment) -> list[Route]:
    async def update(request: Request) -> Response:
        try:
            require_admin_key(deployment.admin_keys, request)
            body = await read_json_object(request, MAX_BODY)
            try:
                await deployment.update_env(validate_changes(body.get("changes")))
            except EnvironmentVariableError as e:
                raise BadRequest(e.code, e.message) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({})

    return [Route("/api/update_environment_variables", update, methods=["POST"])]
