"""The admin API for environment variables.

- `GET /api/syncline/env` lists them: `{"variables": {name: value}}`.
- `GET /api/syncline/env/{name}` gives one: `{"name", "value"}`, or 404.
- `POST /api/syncline/env` with `{"name", "value"}` sets one: `{"name", "created"}`.
- `DELETE /api/syncline/env/{name}` removes one: `{"name", "removed": true}`, or 404.

Every route needs `Authorization: Convex <admin key>`. The listing holds the variables
stored in `_environment_variables`; the system variables CONVEX_CLOUD_URL and
CONVEX_SITE_URL are not listed (but `GET .../env/CONVEX_SITE_URL` answers), and cannot be
set or removed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncline.functions.environment import (
    SYSTEM_VARIABLES,
    EnvironmentVariableError,
    read_variables,
    validate_name,
)
from syncline.server.deployment import Deployment
from syncline.server.request_bodies import read_json_object
from syncline.server.responses import (
    BadRequest,
    bad_request_response,
    json_response,
    require_admin_key,
)

PREFIX = "/api/syncline/env"
MAX_BODY = 64 * 1024  # a value is at most 8 KiB, even escaped as JSON


def _bad(error: EnvironmentVariableError) -> BadRequest:
    return BadRequest(error.code, error.message)


def _not_found(name: str) -> BadRequest:
    return BadRequest("NotFound", f"There is no environment variable {name}", 404)


class EnvironmentVariablesApi:
    """Route handlers bound to one deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def _authorize(self, request: Request) -> None:
        require_admin_key(self.deployment.admin_keys, request)

    async def list(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except BadRequest as e:
            return bad_request_response(e)
        variables = await read_variables(self.deployment.db)
        return json_response({"variables": dict(sorted(variables.items()))})

    async def get(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            self._authorize(request)
            if name in SYSTEM_VARIABLES:
                value = self.deployment.env.get(name)
            else:
                value = (await read_variables(self.deployment.db)).get(name)
            if value is None:
                raise _not_found(name)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"name": name, "value": value})

    async def set(self, request: Request) -> Response:
        try:
            self._authorize(request)
            body = await read_json_object(request, MAX_BODY)
            name, value = body.get("name"), body.get("value")
            try:
                created = await self.deployment.set_env(name, value)  # type: ignore[arg-type]
            except EnvironmentVariableError as e:
                raise _bad(e) from None
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"name": name, "created": created})

    async def remove(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            self._authorize(request)
            try:
                validate_name(name)
            except EnvironmentVariableError:
                raise _not_found(name) from None
            if name in SYSTEM_VARIABLES:
                raise BadRequest("ReservedEnvVarName", f"{name} is set by the deployment "
                                 "itself and cannot be removed")
            if not await self.deployment.remove_env(name):
                raise _not_found(name)
        except BadRequest as e:
            return bad_request_response(e)
        return json_response({"name": name, "removed": True})


def env_routes(deployment: Deployment) -> list[Route]:
    api = EnvironmentVariablesApi(deployment)
    return [
        Route(PREFIX, api.list, methods=["GET"]),
        Route(PREFIX, api.set, methods=["POST"]),
        Route(f"{PREFIX}/{{name}}", api.get, methods=["GET"]),
        Route(f"{PREFIX}/{{name}}", api.remove, methods=["DELETE"]),
    ]
