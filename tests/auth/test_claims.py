"""Mapping verified JWT claims to the UserIdentity a function sees."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from syncline.auth.claims import identity_from_claims
from syncline.functions import UserIdentity

ISS = "https://auth.example.com"

# Every standard OIDC claim, by its token name, with the identity key it becomes.
RENAMED = {
    "given_name": "givenName",
    "family_name": "familyName",
    "preferred_username": "preferredUsername",
    "profile": "profileUrl",
    "picture": "pictureUrl",
    "email_verified": "emailVerified",
    "birthdate": "birthday",
    "zoneinfo": "timezone",
    "locale": "language",
    "phone_number": "phoneNumber",
    "phone_number_verified": "phoneNumberVerified",
    "updated_at": "updatedAt",
}
UNCHANGED = ("name", "nickname", "email", "gender", "address")
REGISTERED = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")

FULL_CLAIMS = {
    "iss": ISS,
    "sub": "user-7",
    "aud": ["app", "api"],
    "exp": 1_900_000_000,
    "nbf": 1_800_000_000,
    "iat": 1_800_000_000,
    "jti": "abc123",
    "name": "Grace Hopper",
    "given_name": "Grace",
    "family_name": "Hopper",
    "nickname": "Amazing Grace",
    "preferred_username": "ghopper",
    "profile": "https://example.com/grace",
    "picture": "https://example.com/grace.png",
    "email": "grace@example.com",
    "email_verified": True,
    "gender": "female",
    "birthdate": "1906-12-09",
    "zoneinfo": "America/New_York",
    "locale": "en-US",
    "phone_number": "+1 555 0100",
    "phone_number_verified": False,
    "address": "1 Navy Way, Arlington",
    "updated_at": "2024-01-01T00:00:00Z",
    # custom claims
    "org_id": "org-1",
    "https://example.com/roles": ["admin"],
    "permissions": {"read": True, "write": False},
    "tenantId": "t-9",
}


def test_returns_a_user_identity_mapping() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "u"})
    assert isinstance(identity, UserIdentity)
    assert isinstance(identity, Mapping)


def test_issuer_subject_and_token_identifier() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "user-7"})
    assert identity.issuer == identity["issuer"] == ISS
    assert identity.subject == identity["subject"] == "user-7"
    assert identity.token_identifier == identity["tokenIdentifier"] == f"{ISS}|user-7"


def test_exact_key_set() -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    expected = (
        {"tokenIdentifier", "issuer", "subject"}
        | set(RENAMED.values())
        | set(UNCHANGED)
        | {"org_id", "https://example.com/roles", "permissions", "tenantId"}
    )
    assert set(identity.keys()) == expected


@pytest.mark.parametrize(("claim", "key"), sorted(RENAMED.items()))
def test_standard_claims_are_renamed(claim: str, key: str) -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    assert identity[key] == FULL_CLAIMS[claim]
    assert claim not in identity or claim == key


@pytest.mark.parametrize("claim", UNCHANGED)
def test_standard_claims_kept_under_their_name(claim: str) -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    assert identity[claim] == FULL_CLAIMS[claim]
    assert getattr(identity, claim) == FULL_CLAIMS[claim]


@pytest.mark.parametrize("claim", REGISTERED)
def test_registered_claims_are_dropped(claim: str) -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    assert claim not in identity


def test_snake_case_attribute_access() -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    assert identity.given_name == "Grace"
    assert identity.family_name == "Hopper"
    assert identity.preferred_username == "ghopper"
    assert identity.profile_url == "https://example.com/grace"
    assert identity.picture_url == "https://example.com/grace.png"
    assert identity.email_verified is True
    assert identity.birthday == "1906-12-09"
    assert identity.timezone == "America/New_York"
    assert identity.language == "en-US"
    assert identity.phone_number == "+1 555 0100"
    assert identity.phone_number_verified is False
    assert identity.updated_at == "2024-01-01T00:00:00Z"


def test_custom_claims_kept_unchanged_under_their_own_name() -> None:
    identity = identity_from_claims(FULL_CLAIMS)
    assert identity["org_id"] == "org-1"
    assert identity.org_id == "org-1"
    assert "orgId" not in identity  # not camel-cased
    assert identity["https://example.com/roles"] == ["admin"]
    assert identity["permissions"] == {"read": True, "write": False}
    assert identity["tenantId"] == "t-9"


def test_missing_standard_claims_are_none() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "u"})
    for attribute in ("name", "given_name", "family_name", "email", "email_verified",
                      "picture_url", "profile_url", "phone_number", "updated_at", "address",
                      "preferred_username", "birthday", "timezone", "language", "gender",
                      "nickname", "phone_number_verified"):
        assert getattr(identity, attribute) is None, attribute
    assert "email" not in identity
    assert set(identity) == {"tokenIdentifier", "issuer", "subject"}


def test_unknown_attribute_raises_attribute_error() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "u"})
    with pytest.raises(AttributeError):
        _ = identity.not_a_claim


def test_false_and_empty_values_are_kept() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "u", "email_verified": False,
                                     "name": "", "count": 0})
    assert identity["emailVerified"] is False
    assert identity["name"] == ""
    assert identity["count"] == 0


def test_input_claims_not_mutated() -> None:
    claims = dict(FULL_CLAIMS)
    identity_from_claims(claims)
    assert claims == FULL_CLAIMS


def test_identity_dict_round_trip() -> None:
    identity = identity_from_claims({"iss": ISS, "sub": "u", "email": "e@x", "given_name": "G"})
    assert dict(identity) == {
        "tokenIdentifier": f"{ISS}|u",
        "issuer": ISS,
        "subject": "u",
        "email": "e@x",
        "givenName": "G",
    }
