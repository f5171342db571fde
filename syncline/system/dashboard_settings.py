"""The system query of the dashboard's Settings page: `_system/frontend/settings`.

Answers, for an admin (the dashboard shows environment variable values: they are the
app's configuration, not the admin key):

    {"urls": {"cloud", "site"},
     "env": [{"name", "value"}],                 # sorted by name
     "envLimits": {"maxNameLength", "maxValueBytes", "maxVariables"},
     "authProviders": [{"type": "oidc", "domain", "applicationID"}
                       | {"type": "customJwt", "issuer", "jwks", "algorithm",
                          "applicationID"}],
     "deployment": {"instanceName", "dev", "version", "pause": None}}

It is live: the variables are read from `_environment_variables` through the query's
transaction, and a push or a URL change re-runs every subscribed query. `pause` is None:
syncline deployments cannot be paused (yet), so the dashboard offers no pause button.

Changes go through the admin HTTP routes that the CLIs use, so validation, history and
the republishing of the variables to the running functions happen in one place:
`POST /api/update_environment_variables` (env_update_api.py), the export and import
routes of cli_import_api.py (progress: `_system/cli/exports:getLatest`,
`_system/cli/queryImport`).
"""

from __future__ import annotations

from typing import Any

from syncline import __version__
from syncline.auth import AuthConfigError, providers_of
from syncline.auth.providers import CustomJwtProvider, OidcProvider
from syncline.functions.environment import (
    ENVIRONMENT_VARIABLES,
    MAX_NAME_LENGTH,
    MAX_VALUE_BYTES,
    MAX_VARIABLES,
)
from syncline.system.registry import system_query


def provider_json(provider: OidcProvider | CustomJwtProvider) -> dict[str, Any]:
    """A provider as the dashboard lists it (Convex's spelling `applicationID`)."""
    if isinstance(provider, OidcProvider):
        return {"type": "oidc", "domain": provider.domain,
                "applicationID": provider.application_id}
    return {"type": "customJwt", "issuer": provider.issuer, "jwks": provider.jwks,
            "algorithm": provider.algorithm, "applicationID": provider.application_id}


def auth_providers(app: Any) -> list[dict[str, Any]]:
    """The providers of the live app's `convex/auth_config.py` (none without an app or a
    config; a push refuses an invalid config, so the live one parses)."""
    if app is None:
        return []
    try:
        return [provider_json(p) for p in providers_of(app.module("auth_config"))]
    except AuthConfigError:
        return []


@system_query("_system/frontend/settings")
async def settings(ctx: Any) -> dict[str, Any]:
    services = ctx.deployment
    rows = await ctx.db.query(ENVIRONMENT_VARIABLES).take(MAX_VARIABLES + 1)
    env = sorted(({"name": row["name"], "value": row["value"]} for row in rows),
                 key=lambda row: row["name"])
    return {
        "urls": {"cloud": services.cloud_url, "site": services.site_url},
        "env": env,
        "envLimits": {"maxNameLength": MAX_NAME_LENGTH, "maxValueBytes": MAX_VALUE_BYTES,
                      "maxVariables": MAX_VARIABLES},
        "authProviders": auth_providers(services.runner.app),
        "deployment": {"instanceName": services.instance_name, "dev": services.dev,
                       "version": __version__, "pause": None},
    }
