"""TokenVerifier against a real local identity provider (OIDC discovery, JWKS over HTTP).

Time is the injected `clock` wherever it matters, so nothing here depends on how
fast the machine is; the identity provider's fetch counters show what the
verifier fetched and when.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from syncline.auth.providers import AuthConfigError, CustomJwtProvider, OidcProvider
from syncline.auth.verifier import AuthenticationError, TokenVerifier, VerifiedToken
from syncline.errors import SynclineError
from tests.identity_provider import (
    DEFAULT_AUDIENCE,
    LocalIdentityProvider,
    b64url,
    b64url_decode,
    jwks_data_uri,
    new_private_key,
    tamper,
)

# -- fixtures -------------------------------------------------------------------------


class FakeClock:
    """A settable clock for `TokenVerifier(clock=...)`."""

    def __init__(self, now: float | None = None) -> None:
        self.now = float(int(time.time()) if now is None else now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def idp() -> Iterator[LocalIdentityProvider]:
    with LocalIdentityProvider() as provider:
        yield provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture
async def make_verifier(clock: FakeClock) -> AsyncIterator[MakeVerifier]:
    """Builds TokenVerifiers on the test clock and closes them afterwards."""
    verifiers: list[TokenVerifier] = []

    def make(providers: list[Any], **options: Any) -> TokenVerifier:
        options.setdefault("clock", clock)
        verifier = TokenVerifier(providers, **options)
        verifiers.append(verifier)
        return verifier

    yield make
    for verifier in verifiers:
        await verifier.aclose()


def oidc(idp: LocalIdentityProvider, application_id: str = DEFAULT_AUDIENCE) -> OidcProvider:
    return OidcProvider(domain=idp.issuer, application_id=application_id)


def custom(
    idp: LocalIdentityProvider,
    *,
    algorithm: str = "ES256",
    jwks: str | None = None,
    application_id: str | None = DEFAULT_AUDIENCE,
) -> CustomJwtProvider:
    return CustomJwtProvider(
        issuer=idp.issuer,
        jwks=idp.jwks_url if jwks is None else jwks,
        algorithm=algorithm,
        application_id=application_id,
    )


async def rejected(verifier: TokenVerifier, token: str, pattern: str) -> str:
    """Verifying `token` raises AuthenticationError whose message matches `pattern`."""
    with pytest.raises(AuthenticationError, match=pattern) as info:
        await verifier.verify(token)
    assert isinstance(info.value, SynclineError)
    return str(info.value)


# -- valid tokens ---------------------------------------------------------------------


async def test_oidc_rs256_token_via_discovery_yields_identity(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(
        {
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.com",
            "email_verified": True,
            "picture": "https://img.example.com/ada.png",
            "org_id": "org-42",
            "roles": ["admin", "dev"],
            "jti": "token-1",
        },
        subject="user-ada",
        now=clock.now,
    )

    result = await verifier.verify(token)

    assert isinstance(result, VerifiedToken)
    assert result.expires_at == clock.now + 3600
    identity = result.identity
    assert identity.token_identifier == f"{idp.issuer}|user-ada"
    assert identity["tokenIdentifier"] == f"{idp.issuer}|user-ada"
    assert identity.subject == identity["subject"] == "user-ada"
    assert identity.issuer == identity["issuer"] == idp.issuer
    assert identity.name == "Ada Lovelace"
    assert identity.given_name == identity["givenName"] == "Ada"
    assert identity.family_name == identity["familyName"] == "Lovelace"
    assert identity.email == "ada@example.com"
    assert identity.email_verified is True and identity["emailVerified"] is True
    assert identity.picture_url == identity["pictureUrl"] == "https://img.example.com/ada.png"
    assert identity["org_id"] == identity.org_id == "org-42"
    assert identity["roles"] == ["admin", "dev"]
    assert identity.phone_number is None  # a standard claim the token lacks
    for raw in ("iss", "sub", "aud", "exp", "iat", "jti", "given_name", "picture"):
        assert raw not in identity, raw
    assert idp.discovery_fetches == 1
    assert idp.jwks_fetches == 1


async def test_oidc_es256_token_accepted_algorithm_follows_key_type(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    result = await verifier.verify(idp.mint(alg="ES256", subject="ec-user", now=clock.now))
    assert result.identity.token_identifier == f"{idp.issuer}|ec-user"


async def test_oidc_issuer_below_a_path(make_verifier: MakeVerifier, clock: FakeClock) -> None:
    with LocalIdentityProvider(path_prefix="/tenants/acme") as idp:
        assert idp.issuer.endswith("/tenants/acme")
        verifier = make_verifier([oidc(idp)])
        result = await verifier.verify(idp.mint(now=clock.now))
        assert result.identity.issuer == idp.issuer
        assert idp.discovery_fetches == 1
        assert idp.jwks_fetches == 1


async def test_oidc_discovery_without_jwks_uri_falls_back_to_well_known_jwks(
    make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    with LocalIdentityProvider(advertise_jwks_uri=False) as idp:
        assert "jwks_uri" not in idp.discovery_document()
        verifier = make_verifier([oidc(idp)])
        result = await verifier.verify(idp.mint(now=clock.now))
        assert result.identity.subject == "user-1"
        assert idp.jwks_fetches == 1


async def test_custom_jwt_es256_with_jwks_url(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([custom(idp, algorithm="ES256")])
    result = await verifier.verify(idp.mint({"tier": "gold"}, alg="ES256", now=clock.now))
    assert result.identity.token_identifier == f"{idp.issuer}|user-1"
    assert result.identity["tier"] == "gold"
    assert idp.jwks_fetches == 1
    assert idp.discovery_fetches == 0  # customJwt goes straight to its jwks URL


@pytest.mark.parametrize("base64_encoded", [True, False], ids=["base64", "url-encoded"])
async def test_custom_jwt_es256_with_data_uri_jwks(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock,
    base64_encoded: bool,
) -> None:
    uri = idp.jwks_data_uri(base64_encoded=base64_encoded)
    assert uri.startswith("data:application/json;base64," if base64_encoded
                          else "data:application/json,%7B")
    verifier = make_verifier([custom(idp, algorithm="ES256", jwks=uri)])
    result = await verifier.verify(idp.mint(alg="ES256", subject="data-user", now=clock.now))
    assert result.identity.subject == "data-user"
    assert idp.jwks_fetches == 0 and idp.discovery_fetches == 0  # nothing fetched


async def test_custom_jwt_rs256_with_data_uri(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([custom(idp, algorithm="RS256", jwks=idp.jwks_data_uri())])
    result = await verifier.verify(idp.mint(alg="RS256", now=clock.now))
    assert result.identity.issuer == idp.issuer


async def test_aud_list_containing_application_id_accepted(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(audience=["other-api", DEFAULT_AUDIENCE], now=clock.now)
    result = await verifier.verify(token)
    assert result.identity.subject == "user-1"
    assert "aud" not in result.identity


async def test_aud_list_without_application_id_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(audience=["other-api", "another-api"], now=clock.now)
    await rejected(verifier, token, r"(?i)audience")


async def test_custom_jwt_without_application_id_accepts_any_audience(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([custom(idp, algorithm="RS256", application_id=None)])
    for audience in ("some-other-app", ["x", "y"]):
        result = await verifier.verify(idp.mint(audience=audience, now=clock.now))
        assert result.identity.subject == "user-1"


async def test_custom_jwt_with_application_id_rejects_other_audience(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([custom(idp, algorithm="RS256", application_id="my-app")])
    assert (await verifier.verify(idp.mint(audience="my-app", now=clock.now))).identity
    await rejected(verifier, idp.mint(audience="not-my-app", now=clock.now), r"(?i)audience")


async def test_token_without_kid_accepted_when_exactly_one_key_fits(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    # The JWKS holds one RSA and one EC key: only one is usable for RS256.
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(headers={"kid": None}, now=clock.now)
    assert "kid" not in json.loads(b64url_decode(token.split(".")[0]))
    result = await verifier.verify(token)
    assert result.identity.subject == "user-1"


async def test_token_without_kid_rejected_when_several_keys_fit(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    idp.add_key("RS256")  # two RSA keys served now
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(headers={"kid": None}, now=clock.now)
    await rejected(verifier, token, r"(?i)kid|key id")
    # The same key with its kid is fine.
    assert (await verifier.verify(idp.mint(now=clock.now))).identity.subject == "user-1"


async def test_providers_property(idp: LocalIdentityProvider, make_verifier: MakeVerifier) -> None:
    providers = [oidc(idp), custom(idp)]
    verifier = make_verifier(providers)
    assert list(verifier.providers) == providers


async def test_injected_http_client_is_used(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    requested: list[str] = []

    async def record(request: httpx.Request) -> None:
        requested.append(str(request.url))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        verifier = make_verifier([oidc(idp)], http=client)
        result = await verifier.verify(idp.mint(now=clock.now))
        assert result.identity.subject == "user-1"
        assert requested == [idp.discovery_url, idp.jwks_url]


# -- time -----------------------------------------------------------------------------


async def test_expired_token_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(iat=int(clock.now) - 3600, exp=int(clock.now) - 60)
    await rejected(verifier, token, r"(?i)expired")


async def test_expiry_is_measured_by_the_injected_clock(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(now=clock.now, lifetime_s=600)
    assert (await verifier.verify(token)).expires_at == clock.now + 600
    clock.advance(600 + 60)
    await rejected(verifier, token, r"(?i)expired")


async def test_expired_within_leeway_accepted(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], leeway_s=10)
    token = idp.mint(iat=int(clock.now) - 600, exp=int(clock.now) - 5)
    result = await verifier.verify(token)
    assert result.expires_at == clock.now - 5


async def test_leeway_is_configurable(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    token = idp.mint(iat=int(clock.now) - 600, exp=int(clock.now) - 60)
    strict = make_verifier([oidc(idp)], leeway_s=0)
    lenient = make_verifier([oidc(idp)], leeway_s=120)
    await rejected(strict, token, r"(?i)expired")
    assert (await lenient.verify(token)).identity.subject == "user-1"
    just_expired = idp.mint(iat=int(clock.now) - 600, exp=int(clock.now) - 1)
    await rejected(strict, just_expired, r"(?i)expired")


async def test_not_yet_valid_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(now=clock.now, nbf=int(clock.now) + 120)
    await rejected(verifier, token, r"(?i)not (yet )?valid|nbf")
    clock.advance(121)
    assert (await verifier.verify(token)).identity.subject == "user-1"


async def test_nbf_within_leeway_accepted(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], leeway_s=10)
    token = idp.mint(now=clock.now, nbf=int(clock.now) + 5)
    assert (await verifier.verify(token)).identity.subject == "user-1"


async def test_issued_in_the_future_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], leeway_s=10)
    token = idp.mint(iat=int(clock.now) + 120, exp=int(clock.now) + 3600)
    await rejected(verifier, token, r"(?i)future|\biat\b")


async def test_iat_within_leeway_accepted(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], leeway_s=10)
    token = idp.mint(iat=int(clock.now) + 5, exp=int(clock.now) + 3600)
    assert (await verifier.verify(token)).identity.subject == "user-1"


@pytest.mark.parametrize("claim, pattern", [
    ("exp", r"(?i)\bexp\b|expiration|expiry"),
    ("sub", r"(?i)\bsub\b|subject"),
    ("iss", r"(?i)\biss\b|issuer"),
])
async def test_missing_required_claim_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock,
    claim: str, pattern: str,
) -> None:
    verifier = make_verifier([oidc(idp)])
    omit = {"subject": None} if claim == "sub" else {claim: None}
    token = idp.mint(now=clock.now, **omit)
    assert claim not in json.loads(b64url_decode(token.split(".")[1]))
    await rejected(verifier, token, pattern)
    if claim == "iss":
        assert idp.jwks_fetches == 0  # refused before any key is fetched


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
async def test_non_numeric_time_claim_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, claim: str
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(now=clock.now, **{claim: "tomorrow"})
    message = await rejected(verifier, token, rf"(?i)\b{claim}\b|number|must be")
    assert claim in message


@pytest.mark.parametrize("sub", [123, "", ["user-1"]], ids=["int", "empty", "list"])
async def test_non_string_or_empty_sub_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, sub: object
) -> None:
    verifier = make_verifier([oidc(idp)])
    await rejected(verifier, idp.mint(now=clock.now, sub=sub), r"(?i)\bsub\b|subject")


# -- issuer and audience --------------------------------------------------------------


async def test_unknown_issuer_rejected_without_fetching_anything(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(now=clock.now, iss="https://evil.example.com")
    message = await rejected(verifier, token, r"(?i)no (auth )?provider")
    assert "https://evil.example.com" in message
    assert idp.issuer in message  # the configured issuers are listed
    assert idp.jwks_fetches == 0 and idp.discovery_fetches == 0


async def test_issuer_must_match_exactly(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    for iss in (idp.issuer + "//", idp.issuer.upper(), idp.issuer.replace("http:", "https:"),
                idp.issuer + "/x", idp.issuer[:-1]):
        message = await rejected(verifier, idp.mint(now=clock.now, iss=iss), r"(?i)no (auth )?provider")
        assert iss in message


@pytest.mark.parametrize("domain_slash, iss_slash", [("", "/"), ("/", ""), ("/", "/")])
async def test_oidc_domain_and_iss_may_differ_by_a_trailing_slash(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock,
    domain_slash: str, iss_slash: str,
) -> None:
    # Auth0 writes `iss` as `https://tenant.auth0.com/` while its setup page (and Convex's)
    # gives the domain without the slash: both name the same issuer URL.
    verifier = make_verifier([OidcProvider(domain=idp.issuer + domain_slash,
                                           application_id=DEFAULT_AUDIENCE)])
    token = idp.mint(now=clock.now, iss=idp.issuer + iss_slash, subject="auth0|ada")
    result = await verifier.verify(token)
    assert result.identity.issuer == idp.issuer + iss_slash  # the token's own `iss`
    assert result.identity.token_identifier == f"{idp.issuer}{iss_slash}|auth0|ada"
    assert idp.discovery_fetches == 1


async def test_custom_jwt_issuer_still_matches_exactly(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([custom(idp)])
    token = idp.mint(now=clock.now, iss=idp.issuer + "/")
    await rejected(verifier, token, r"(?i)no (auth )?provider")


async def test_no_providers_configured(idp: LocalIdentityProvider, make_verifier: MakeVerifier) -> None:
    verifier = make_verifier([])
    await rejected(verifier, idp.mint(), r"(?i)no (auth )?provider")


async def test_wrong_audience_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    await rejected(verifier, idp.mint(now=clock.now, audience="someone-else"), r"(?i)audience")


async def test_missing_audience_rejected_for_oidc(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    await rejected(verifier, idp.mint(now=clock.now, audience=None), r"(?i)audience|\baud\b")


# -- algorithms and signatures ------------------------------------------------------


@pytest.mark.parametrize("kind", ["oidc", "customJwt"])
async def test_alg_none_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, kind: str
) -> None:
    provider = oidc(idp) if kind == "oidc" else custom(idp, algorithm="RS256")
    verifier = make_verifier([provider])
    token = idp.mint_unsigned(now=clock.now)
    assert token.endswith(".")
    await rejected(verifier, token, r"(?i)algorithm.*none|none.*algorithm")


@pytest.mark.parametrize("kind", ["oidc", "customJwt"])
async def test_hs256_signed_with_rsa_public_key_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, kind: str
) -> None:
    provider = oidc(idp) if kind == "oidc" else custom(idp, algorithm="RS256")
    verifier = make_verifier([provider])
    token = idp.mint_hs256_with_public_key(now=clock.now)
    # The token really is a valid HMAC under the public PEM: a confused verifier would accept it.
    signing_input, signature = token.rsplit(".", 1)
    expected = hmac.new(idp.public_pem("RS256"), signing_input.encode(), hashlib.sha256).digest()
    assert b64url(expected) == signature
    await rejected(verifier, token, r"(?i)algorithm.*HS256|HS256.*algorithm")


async def test_rs256_token_rejected_by_es256_custom_provider(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    # The JWKS does hold the RSA key, and the signature is valid: only the algorithm is wrong.
    verifier = make_verifier([custom(idp, algorithm="ES256")])
    await rejected(verifier, idp.mint(alg="RS256", now=clock.now), r"(?i)algorithm.*RS256|RS256.*algorithm")
    assert (await verifier.verify(idp.mint(alg="ES256", now=clock.now))).identity.subject == "user-1"


async def test_token_alg_must_match_the_keys_type(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    # Header says RS256 but names the EC key (signed with the RSA key).
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(alg="RS256", kid=idp.kid("ES256"), now=clock.now)
    await rejected(verifier, token, r"(?i)algorithm|signature|does not publish|\bkid\b")


async def test_tampered_payload_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(now=clock.now, subject="user-1")
    assert (await verifier.verify(token)).identity.subject == "user-1"
    forged = tamper(token, sub="admin")
    assert forged.split(".")[2] == token.split(".")[2]
    await rejected(verifier, forged, r"(?i)signature")
    await rejected(verifier, tamper(token, exp=int(clock.now) + 10**8), r"(?i)signature")


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_signature_by_unknown_key_with_known_kid_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, alg: str
) -> None:
    verifier = make_verifier([oidc(idp)])
    token = idp.mint(alg=alg, kid=idp.kid(alg), key=new_private_key(alg), now=clock.now)
    await rejected(verifier, token, r"(?i)signature")


async def test_truncated_signature_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    header, payload, signature = idp.mint(now=clock.now).split(".")
    await rejected(verifier, f"{header}.{payload}.{signature[:-8]}", r"(?i)signature|malformed|not a (valid )?JWT")


MALFORMED = r"(?i)malformed|not a (valid )?JWT|invalid (JWT|token)"


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        f"{b64url(b'not json')}.{_segment({'sub': 'x'})}.c2ln",
        f"{_segment(['a', 'list'])}.{_segment({'sub': 'x'})}.c2ln",
        f"{_segment({'alg': 'RS256'})}.{b64url(b'not json')}.c2ln",
    ],
    ids=["empty", "one-part", "two-parts", "four-parts", "not-base64", "header-not-json",
         "header-not-object", "payload-not-json"],
)
async def test_malformed_token_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, token: str
) -> None:
    verifier = make_verifier([oidc(idp)])
    await rejected(verifier, token, MALFORMED)
    assert idp.jwks_fetches == 0


# -- keys: caching, rotation, refresh -------------------------------------------------


async def test_unknown_kid_rejected(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    message = await rejected(
        verifier, idp.mint(kid="no-such-key", now=clock.now), r"(?i)key id|\bkid\b"
    )
    assert "no-such-key" in message
    assert idp.jwks_fetches == 1


async def test_keys_are_cached(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp), custom(idp, algorithm="ES256")])
    for i in range(10):
        result = await verifier.verify(idp.mint(subject=f"user-{i}", now=clock.now))
        assert result.identity.subject == f"user-{i}"
    assert idp.discovery_fetches == 1
    assert idp.jwks_fetches == 1


async def test_keys_refetched_after_cache_ttl(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], cache_ttl_s=300, refresh_interval_s=10)
    await verifier.verify(idp.mint(now=clock.now))
    clock.advance(100)
    await verifier.verify(idp.mint(now=clock.now))
    assert idp.jwks_fetches == 1
    clock.advance(201)  # past the TTL: a known kid still causes a refetch
    assert (await verifier.verify(idp.mint(now=clock.now))).identity.subject == "user-1"
    assert idp.jwks_fetches == 2


async def test_rotated_keys_and_refetch_rate_limit(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], refresh_interval_s=10)
    old_token = idp.mint(now=clock.now)
    await verifier.verify(old_token)
    assert idp.jwks_fetches == 1

    old_kid = idp.kid("RS256")
    new_kid = idp.rotate("RS256")
    assert new_kid != old_kid and old_kid not in idp.kids()
    clock.advance(11)  # past the refresh interval
    new_token = idp.mint(now=clock.now)
    assert json.loads(b64url_decode(new_token.split(".")[0]))["kid"] == new_kid
    result = await verifier.verify(new_token)  # unknown kid -> refetch -> found
    assert result.identity.subject == "user-1"
    assert idp.jwks_fetches == 2

    # A bogus kid right after that fetch: rejected without fetching again.
    bogus = idp.mint(kid="bogus-kid", now=clock.now)
    await rejected(verifier, bogus, r"(?i)key id|\bkid\b")
    assert idp.jwks_fetches == 2
    clock.advance(5)
    await rejected(verifier, bogus, r"(?i)key id|\bkid\b")
    assert idp.jwks_fetches == 2

    # Past the interval, an unknown kid may fetch again (and is still rejected).
    clock.advance(6)
    await rejected(verifier, bogus, r"(?i)key id|\bkid\b")
    assert idp.jwks_fetches == 3

    # The rotated-out key is no longer served, so its tokens stop verifying.
    clock.advance(11)
    await rejected(verifier, old_token, r"(?i)key id|\bkid\b")
    # The new key keeps working from the cache.
    assert (await verifier.verify(idp.mint(now=clock.now))).identity.subject == "user-1"


async def test_unknown_kid_within_refresh_interval_does_not_fetch(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], refresh_interval_s=30)
    await verifier.verify(idp.mint(now=clock.now))
    assert idp.jwks_fetches == 1
    idp.rotate("RS256")
    # The key really exists at the IdP now, but the interval has not passed.
    clock.advance(29)
    await rejected(verifier, idp.mint(now=clock.now), r"(?i)key id|\bkid\b")
    assert idp.jwks_fetches == 1
    clock.advance(2)
    assert (await verifier.verify(idp.mint(now=clock.now))).identity.subject == "user-1"
    assert idp.jwks_fetches == 2


async def test_concurrent_verifications_share_one_fetch(
    make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    # The delay keeps the first fetch in flight while all twenty verifications start.
    with LocalIdentityProvider(response_delay_s=0.2) as idp:
        verifier = make_verifier([oidc(idp)])
        tokens = [idp.mint(subject=f"user-{i}", now=clock.now) for i in range(20)]
        results = await asyncio.gather(*(verifier.verify(t) for t in tokens))
        assert [r.identity.subject for r in results] == [f"user-{i}" for i in range(20)]
        assert idp.discovery_fetches == 1
        assert idp.jwks_fetches == 1


async def test_concurrent_custom_jwt_verifications_share_one_fetch(
    make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    with LocalIdentityProvider(response_delay_s=0.2) as idp:
        verifier = make_verifier([custom(idp, algorithm="ES256")])
        tokens = [idp.mint(alg="ES256", subject=f"u{i}", now=clock.now) for i in range(20)]
        results = await asyncio.gather(*(verifier.verify(t) for t in tokens))
        assert {r.identity.subject for r in results} == {f"u{i}" for i in range(20)}
        assert idp.jwks_fetches == 1


# -- unreachable or broken identity provider ----------------------------------------

FETCH_ERROR = r"(?i)fetch|retriev|load|reach|connect"


async def test_unreachable_oidc_provider(make_verifier: MakeVerifier, clock: FakeClock) -> None:
    idp = LocalIdentityProvider()
    token = idp.mint(now=clock.now)
    provider = oidc(idp)
    idp.close()  # the port now refuses connections
    verifier = make_verifier([provider])
    await rejected(verifier, token, FETCH_ERROR)


async def test_unreachable_custom_jwks_url(make_verifier: MakeVerifier, clock: FakeClock) -> None:
    idp = LocalIdentityProvider()
    token = idp.mint(alg="ES256", now=clock.now)
    provider = custom(idp, algorithm="ES256")
    idp.close()
    verifier = make_verifier([provider])
    await rejected(verifier, token, FETCH_ERROR)


async def test_jwks_server_error_then_recovery(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)], refresh_interval_s=10)
    idp.jwks_status = 500
    await rejected(verifier, idp.mint(now=clock.now), FETCH_ERROR)
    assert idp.jwks_fetches == 1
    idp.jwks_status = 200
    clock.advance(11)
    assert (await verifier.verify(idp.mint(now=clock.now))).identity.subject == "user-1"
    assert idp.jwks_fetches == 2


async def test_discovery_server_error(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp)])
    idp.discovery_status = 503
    await rejected(verifier, idp.mint(now=clock.now), FETCH_ERROR)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"no_keys": []}', b'["a"]'],
                         ids=["not-json", "no-keys-member", "not-an-object"])
async def test_invalid_jwks_document(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock, body: bytes
) -> None:
    verifier = make_verifier([custom(idp, algorithm="RS256")])
    idp.jwks_body = body
    await rejected(verifier, idp.mint(now=clock.now), r"(?i)could not (load|fetch)|jwks|key set")


async def test_invalid_data_uri_jwks(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    """Inline keys are read when the verifier is made (at push time): a broken or empty
    key set is a config error then, not a surprise for the first user."""
    for broken, message in ((jwks_data_uri({"keys": "not a list"}), "not a JWKS document"),
                            ("data:application/json,{oops", "does not hold a JSON key set"),
                            (jwks_data_uri({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
                             "no RSA or EC signing key")):
        with pytest.raises(AuthConfigError, match=message):
            make_verifier([custom(idp, algorithm="RS256", jwks=broken)])


# -- several providers ----------------------------------------------------------------


async def test_first_matching_provider_wins(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    # Both providers match the token; which one was used shows in the IdP's fetch counter.
    by_data_uri = custom(idp, algorithm="RS256", jwks=idp.jwks_data_uri(), application_id=None)
    token = idp.mint(now=clock.now)

    data_first = make_verifier([by_data_uri, oidc(idp)])
    assert (await data_first.verify(token)).identity.subject == "user-1"
    assert idp.jwks_fetches == 0 and idp.discovery_fetches == 0

    oidc_first = make_verifier([oidc(idp), by_data_uri])
    assert (await oidc_first.verify(token)).identity.subject == "user-1"
    assert idp.discovery_fetches == 1 and idp.jwks_fetches == 1


async def test_non_matching_providers_are_skipped(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    other = CustomJwtProvider(issuer="https://other.example.com", jwks=idp.jwks_data_uri(),
                              algorithm="RS256")
    verifier = make_verifier([other, OidcProvider("https://auth.example.com", "x"), oidc(idp)])
    result = await verifier.verify(idp.mint(now=clock.now))
    assert result.identity.issuer == idp.issuer


async def test_same_issuer_different_application_ids(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier([oidc(idp, "app-a"), oidc(idp, "app-b")])
    a = await verifier.verify(idp.mint(audience="app-a", subject="alice", now=clock.now))
    b = await verifier.verify(idp.mint(audience="app-b", subject="bob", now=clock.now))
    assert a.identity.token_identifier == f"{idp.issuer}|alice"
    assert b.identity.token_identifier == f"{idp.issuer}|bob"
    await rejected(verifier, idp.mint(audience="app-c", now=clock.now), r"(?i)audience")


async def test_two_identity_providers(make_verifier: MakeVerifier, clock: FakeClock) -> None:
    with LocalIdentityProvider() as first, LocalIdentityProvider() as second:
        verifier = make_verifier([oidc(first), custom(second, algorithm="ES256")])
        r1 = await verifier.verify(first.mint(subject="one", now=clock.now))
        r2 = await verifier.verify(second.mint(alg="ES256", subject="two", now=clock.now))
        assert r1.identity.token_identifier == f"{first.issuer}|one"
        assert r2.identity.token_identifier == f"{second.issuer}|two"
        # A token from the second IdP claiming to be from the first: its kid is not the first's.
        impostor = second.mint(iss=first.issuer, now=clock.now)
        await rejected(verifier, impostor, r"(?i)key id|\bkid\b")
        # ...and with the first's kid, the signature does not verify.
        impostor = second.mint(iss=first.issuer, kid=first.kid("RS256"), now=clock.now)
        await rejected(verifier, impostor, r"(?i)signature")


async def test_a_verified_token_is_remembered_until_it_expires(
    idp: LocalIdentityProvider, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    """Clients send the same token with every call: a repeat is answered from memory
    (the same object), but never past its expiry."""
    verifier = make_verifier([oidc(idp)], leeway_s=10)
    token = idp.mint(now=clock.now, lifetime_s=60)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first
    clock.advance(60 + 10)
    assert await verifier.verify(token) is first  # at the edge of the leeway
    clock.advance(1)
    await rejected(verifier, token, r"(?i)expired")
