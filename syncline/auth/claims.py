"""From a verified token's claims to the identity functions see.

The OpenID Connect standard claims get the names Convex documents for
`UserIdentity` (`picture` → `pictureUrl`, `locale` → `language`, ...); the
registered JWT claims that only matter to verification are dropped; every other
claim is the app's own (a Clerk template's custom claims, say) and is kept as is.
"""

from __future__ import annotations

from typing import Any

from syncline.functions import UserIdentity

STANDARD_CLAIMS = {
    "iss": "issuer",
    "sub": "subject",
    "name": "name",
    "given_name": "givenName",
    "family_name": "familyName",
    "nickname": "nickname",
    "preferred_username": "preferredUsername",
    "profile": "profileUrl",
    "picture": "pictureUrl",
    "email": "email",
    "email_verified": "emailVerified",
    "gender": "gender",
    "birthdate": "birthday",
    "zoneinfo": "timezone",
    "locale": "language",
    "phone_number": "phoneNumber",
    "phone_number_verified": "phoneNumberVerified",
    "address": "address",
    "updated_at": "updatedAt",
}
VERIFICATION_ONLY_CLAIMS = frozenset({"aud", "exp", "nbf", "iat", "jti"})


def identity_from_claims(claims: dict[str, Any]) -> UserIdentity:
    fields: dict[str, Any] = {}
    for name, value in claims.items():
        if name in VERIFICATION_ONLY_CLAIMS:
            continue
        fields[STANDARD_CLAIMS.get(name, name)] = value
    fields["tokenIdentifier"] = f"{claims['iss']}|{claims['sub']}"
    return UserIdentity(fields)
