"""Deployment environment variables: validated, stored in `_environment_variables`, and
published to the app through `os.environ`.

A deployment process serves one app, so the simplest correct way to make the variables
visible to every function and to module-level code is to keep them in the process
environment itself: `EnvironmentVariables` writes each stored variable into `os.environ`
when the deployment loads them, on every `set`, and deletes it on `remove`. Functions read
them with `os.environ["NAME"]` / `os.environ.get("NAME")` / `os.getenv("NAME")`, and the
next call after a change sees the new value. A variable that shadows one the server
process inherited (say `PATH`) has the inherited value restored when it is removed.

Every change runs in a transaction that reads the whole table (at most 100 small rows),
so concurrent changes serialize and the 100-variable limit holds; changes are also
serialized in-process by a lock, and `os.environ` is re-synced from what was committed.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from syncline.database import Database, Transaction

ENVIRONMENT_VARIABLES = "_environment_variables"
MAX_NAME_LENGTH = 40
MAX_VALUE_BYTES = 8 * 1024
MAX_VARIABLES = 100
CLOUD_URL = "CONVEX_CLOUD_URL"
SITE_URL = "CONVEX_SITE_URL"
SYSTEM_VARIABLES = (CLOUD_URL, SITE_URL)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# Called inside the transaction of a change with "created", "updated" or "deleted": the
# deployment records the change in its history (system/history.py) in the same commit.
OnChange = Callable[[Transaction, str], Awaitable[None]]


class EnvironmentVariableError(ValueError):
    """A name, value or change the deployment refuses; `code` names the rule broken."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def validate_name(name: Any) -> str:
    """`name` if it may name an environment variable; EnvironmentVariableError otherwise."""
    if not isinstance(name, str) or name == "":
        raise EnvironmentVariableError(
            "InvalidEnvVarName", "An environment variable needs a name: a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise EnvironmentVariableError(
            "InvalidEnvVarName", f"Environment variable name {name[:MAX_NAME_LENGTH]}... is "
            f"{len(name)} characters long: names are at most {MAX_NAME_LENGTH} characters")
    if not _NAME.match(name):
        raise EnvironmentVariableError(
            "InvalidEnvVarName", f"Invalid environment variable name {name!r}: names start "
            "with a letter and contain only letters, digits and underscores")
    return name


def validate_value(name: str, value: Any) -> str:
    """`value` if it may be the value of an environment variable."""
    if not isinstance(value, str):
        raise EnvironmentVariableError(
            "InvalidEnvVarValue", f"The value of {name} must be a string")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_VALUE_BYTES:
        raise EnvironmentVariableError(
            "InvalidEnvVarValue", f"The value of {name} is {size} bytes: values are at most "
            f"{MAX_VALUE_BYTES // 1024} KiB ({MAX_VALUE_BYTES} bytes)")
    if "\x00" in value:
        raise EnvironmentVariableError(
            "InvalidEnvVarValue", f"The value of {name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EnvironmentVariableError(
            "InvalidEnvVarValue", f"The value of {name} is not valid Unicode text") from None
    return value


def validate_settable(name: Any, value: Any) -> tuple[str, str]:
    """A (name, value) that `set` accepts: valid, and not one of the system variables."""
    name = validate_name(name)
    if name in SYSTEM_VARIABLES:
        raise EnvironmentVariableError(
            "ReservedEnvVarName", f"{name} is set by the deployment itself and cannot be "
            "changed")
    return name, validate_value(name, value)


async def _rows(tx: Transaction) -> list[dict[str, Any]]:
    return await tx.query(ENVIRONMENT_VARIABLES, system=True).take(MAX_VARIABLES + 1)


async def read_variables(db: Database) -> dict[str, str]:
    """The stored variables, by name."""
    rows = await db.read(_rows)
    return {row["name"]: row["value"] for row in rows}


async def store_variable(db: Database, name: str, value: str,
                         on_change: OnChange | None = None) -> bool:
    """Set `name` to `value` in the table; True if it was created. Validates first."""
    name, value = validate_settable(name, value)

    async def store(tx: Transaction) -> bool:
        rows = await _rows(tx)
        for row in rows:
            if row["name"] == name:
                if row["value"] != value:
                    await tx.patch(row["_id"], {"value": value}, system=True)
                    if on_change is not None:
                        await on_change(tx, "updated")
                return False
        if len(rows) >= MAX_VARIABLES:
            raise EnvironmentVariableError(
                "TooManyEnvVars", f"A deployment has at most {MAX_VARIABLES} environment "
                f"variables: remove one before adding {name}")
        await tx.insert(ENVIRONMENT_VARIABLES, {"name": name, "value": value}, system=True)
        if on_change is not None:
            await on_change(tx, "created")
        return True

    return await db.run_transaction(store)


async def delete_variable(db: Database, name: str,
                          on_change: OnChange | None = None) -> bool:
    """Remove `name` from the table; False if there was no such variable."""

    async def delete(tx: Transaction) -> bool:
        for row in await _rows(tx):
            if row["name"] == name:
                await tx.delete(row["_id"], system=True)
                if on_change is not None:
                    await on_change(tx, "deleted")
                return True
        return False

    return await db.run_transaction(delete)


def validate_changes(changes: Any) -> list[tuple[str, str | None]]:
    """A list of `{"name", "value"}` changes (value None: remove), each valid, no name
    twice; EnvironmentVariableError naming the first bad one otherwise."""
    if not isinstance(changes, list):
        raise EnvironmentVariableError(
            "InvalidEnvVarChanges", "`changes` must be a list of {name, value} objects")
    checked: dict[str, str | None] = {}
    for change in changes:
        if not isinstance(change, dict) or "name" not in change:
            raise EnvironmentVariableError(
                "InvalidEnvVarChanges", f"Each change is an object with `name` and `value` "
                f"(null to remove), got {change!r}")
        name, value = change["name"], change.get("value")
        if value is None:
            name = validate_name(name)
            if name in SYSTEM_VARIABLES:
                raise EnvironmentVariableError(
                    "ReservedEnvVarName", f"{name} is set by the deployment itself and "
                    "cannot be removed")
        else:
            name, value = validate_settable(name, value)
        if name in checked:
            raise EnvironmentVariableError(
                "DuplicateEnvVarName", f"{name} is changed twice in one request")
        checked[name] = value
    return list(checked.items())


async def apply_changes(db: Database, changes: list[tuple[str, str | None]],
                        on_change: Callable[[str], OnChange] | None = None) -> None:
    """Set and remove variables (validated by `validate_changes`) in ONE transaction:
    all or none. Removing an unset variable is no change. `on_change(name)` gives the
    callback told of each effective change inside that transaction (history)."""

    async def apply(tx: Transaction) -> None:
        rows = {row["name"]: row for row in await _rows(tx)}
        count = len(rows)
        for name, value in changes:
            row = rows.get(name)
            change = None
            if value is None:
                if row is not None:
                    await tx.delete(row["_id"], system=True)
                    count -= 1
                    change = "deleted"
            elif row is None:
                await tx.insert(ENVIRONMENT_VARIABLES, {"name": name, "value": value},
                                system=True)
                count += 1
                change = "created"
            elif row["value"] != value:
                await tx.patch(row["_id"], {"value": value}, system=True)
                change = "updated"
            if change is not None and on_change is not None:
                await on_change(name)(tx, change)
        if count > MAX_VARIABLES:
            raise EnvironmentVariableError(
                "TooManyEnvVars", f"A deployment has at most {MAX_VARIABLES} environment "
                f"variables: these changes would leave {count}")

    await db.run_transaction(apply)


# `os.environ` is one per process, but a process may run several deployments (the test
# harness makes one per test). Each name remembers the value the process started with
# and the deployments publishing it, newest last: the newest one's value is in force,
# and when the last one lets go the original comes back.
_registry_lock = threading.Lock()
_originals: dict[str, str | None] = {}
_publishers: dict[str, list[EnvironmentVariables]] = {}


class EnvironmentVariables:
    """One deployment's variables, mirrored into `os.environ`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.loaded = False
        self._lock = asyncio.Lock()
        self._published: dict[str, str] = {}  # what this object put into os.environ

    def _publish(self, variables: dict[str, str]) -> None:
        """Make `os.environ` hold exactly `variables` (plus what the process inherited)."""
        for name in list(self._published):
            if name not in variables:
                self._restore(name)
        with _registry_lock:
            for name, value in variables.items():
                if name not in _originals:
                    _originals[name] = os.environ.get(name)
                owners = _publishers.setdefault(name, [])
                if self in owners:
                    owners.remove(self)
                owners.append(self)
                os.environ[name] = value
                self._published[name] = value

    def _restore(self, name: str) -> None:
        with _registry_lock:
            self._published.pop(name, None)
            owners = _publishers.get(name, [])
            was_current = bool(owners) and owners[-1] is self
            if self in owners:
                owners.remove(self)
            if not owners:
                _publishers.pop(name, None)
                original = _originals.pop(name, None)
                if original is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = original
            elif was_current:
                os.environ[name] = owners[-1]._published[name]

    def _stored(self) -> dict[str, str]:
        return {k: v for k, v in self._published.items() if k not in SYSTEM_VARIABLES}

    async def load(self) -> dict[str, str]:
        """Read the stored variables and publish them; returns them."""
        async with self._lock:
            variables = await read_variables(self.db)
            self._publish({**variables, **self._system()})
            self.loaded = True
            return variables

    def _system(self) -> dict[str, str]:
        return {k: v for k, v in self._published.items() if k in SYSTEM_VARIABLES}

    def set_urls(self, cloud_url: str, site_url: str) -> None:
        """Publish CONVEX_CLOUD_URL and CONVEX_SITE_URL (known once the servers listen)."""
        self._publish({**self._stored(), CLOUD_URL: cloud_url, SITE_URL: site_url})

    async def set(self, name: str, value: str, on_change: OnChange | None = None) -> bool:
        """Store and publish one variable; True if it is new. EnvironmentVariableError if
        the name or value is invalid or the deployment already has 100 variables."""
        async with self._lock:
            created = await store_variable(self.db, name, value, on_change)
            self._publish({**await read_variables(self.db), **self._system()})
            return created

    async def remove(self, name: str, on_change: OnChange | None = None) -> bool:
        """Delete one variable; False if it did not exist."""
        async with self._lock:
            removed = await delete_variable(self.db, name, on_change)
            self._publish({**await read_variables(self.db), **self._system()})
            return removed

    async def update(self, changes: list[tuple[str, str | None]],
                     on_change: Callable[[str], OnChange] | None = None) -> None:
        """Apply validated changes (value None: remove) atomically, then publish."""
        async with self._lock:
            await apply_changes(self.db, changes, on_change)
            self._publish({**await read_variables(self.db), **self._system()})

    def all(self) -> dict[str, str]:
        """Every variable functions see (stored ones and the system URLs), by name."""
        return dict(sorted(self._published.items()))

    def get(self, name: str) -> str | None:
        return self._published.get(name)

    def close(self) -> None:
        """Take this deployment's variables out of `os.environ` again."""
        for name in list(self._published):
            self._restore(name)
