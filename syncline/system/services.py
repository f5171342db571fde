"""`ctx.deployment`: what system functions need that is not in the database.

The server builds one SystemServices per deployment and sets its attributes when it
starts (the database, the function runner with the loaded app, environment variables,
URLs). Later parts register more providers by name (`services.register("metrics",
store)`), and system functions reach them as `ctx.deployment.metrics`. A provider that
was never registered is a clear error naming it, not an AttributeError deep in a handler.
"""

from __future__ import annotations

from typing import Any


class ServiceNotAvailableError(LookupError):
    """A system function asked for a provider this deployment did not register."""


class SystemServices:
    """The deployment's facade for system functions. Attributes the server always sets:

    - `db`: the Database; `runner`: the FunctionRunner (`runner.app` is the loaded app);
    - `env`: EnvironmentVariables; `files`: FileStorage or None;
    - `cloud_url`, `site_url`: the URLs the servers listen on (None before they listen);
    - `instance_name`, `dev`: the deployment's name and whether it runs `syncline dev`.
    """

    def __init__(self, **providers: Any) -> None:
        self.cloud_url: str | None = None
        self.site_url: str | None = None
        self.instance_name = "syncline-local"
        self.dev = True
        self._providers: dict[str, Any] = {}
        for name, provider in providers.items():
            self.register(name, provider)

    def register(self, name: str, provider: Any) -> None:
        """Make `provider` available to system functions as `ctx.deployment.<name>`."""
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"Invalid service name {name!r}: use a Python identifier")
        self._providers[name] = provider

    def has(self, name: str) -> bool:
        return name in self._providers

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._providers[name]
        except KeyError:
            raise ServiceNotAvailableError(
                f"ctx.deployment.{name} is not available: this deployment registered no "
                f"{name!r} service (registered: {', '.join(sorted(self._providers)) or 'none'})"
            ) from None
