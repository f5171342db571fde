"""The user identity a function sees through `ctx.auth.get_user_identity()`.

Attributes use Python names (`token_identifier`, `email_verified`); indexing
with the documented camelCase keys (`identity["tokenIdentifier"]`) works too,
as do custom claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


class UserIdentity(Mapping[str, Any]):
    """Claims of an authenticated user, keyed by their documented camelCase names."""

    def __init__(self, claims: Mapping[str, Any]) -> None:
        # Snake-case spellings of the standard fields are accepted (Python callers write
        # `{"token_identifier": ...}`); custom claims keep their own names.
        data = {_SNAKE_TO_CAMEL.get(k, k): v for k, v in claims.items()}
        issuer, subject = data.get("issuer"), data.get("subject")
        if "tokenIdentifier" not in data and issuer is not None and subject is not None:
            data["tokenIdentifier"] = f"{issuer}|{subject}"
        self._claims = data

    def __getitem__(self, key: str) -> Any:
        return self._claims[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)

    def __getattr__(self, name: str) -> Any:
        claims = self.__dict__.get("_claims", {})
        key = _SNAKE_TO_CAMEL.get(name, name)
        if key in claims:
            return claims[key]
        if name in _SNAKE_TO_CAMEL:
            return None  # a standard claim the token did not carry
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._claims)

    def __repr__(self) -> str:
        return f"UserIdentity({self._claims!r})"


STANDARD_FIELDS = (
    "tokenIdentifier", "subject", "issuer", "name", "givenName", "familyName", "nickname",
    "preferredUsername", "profileUrl", "pictureUrl", "email", "emailVerified", "gender",
    "birthday", "timezone", "language", "phoneNumber", "phoneNumberVerified", "address",
    "updatedAt",
)
_SNAKE_TO_CAMEL = {_snake(n): n for n in STANDARD_FIELDS}


@dataclass(frozen=True)
class Credentials:
    """Who is calling, once their token or admin key checked out."""

    identity: UserIdentity | None = None
    admin: bool = False  # presented the deployment's admin key
    expires_at: float | None = None  # when the user token expires (Unix seconds)


ANONYMOUS = Credentials()
