"""Parsing the `providers` list of `convex/auth_config.py` into provider objects."""

from __future__ import annotations

import dataclasses
import re
import types
from typing import Any

import pytest

from syncline.auth.providers import (
    AuthConfigError,
    CustomJwtProvider,
    OidcProvider,
    parse_providers,
    providers_of,
)
from syncline.errors import SynclineError
from tests.identity_provider import jwks_data_uri

DOMAIN = "https://auth.example.com"
ISSUER = "https://issuer.example.com"
JWKS_URL = "https://issuer.example.com/.well-known/jwks.json"
JWKS_DATA = jwks_data_uri({"keys": []})


def custom_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "customJwt",
        "issuer": ISSUER,
        "jwks": JWKS_URL,
        "algorithm": "RS256",
        "applicationID": "my-app",
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def config_error(value: Any, pattern: str) -> str:
    with pytest.raises(AuthConfigError, match=pattern) as info:
        parse_providers(value)
    assert isinstance(info.value, SynclineError)
    return str(info.value)


# -- valid configurations -------------------------------------------------------------


@pytest.mark.parametrize("app_key", ["applicationID", "application_id"])
def test_oidc_provider(app_key: str) -> None:
    providers = parse_providers([{"domain": DOMAIN, app_key: "my-app"}])
    assert providers == [OidcProvider(domain=DOMAIN, application_id="my-app")]
    assert isinstance(providers[0], OidcProvider)


def test_oidc_provider_with_explicit_type() -> None:
    providers = parse_providers([{"type": "oidc", "domain": DOMAIN, "applicationID": "my-app"}])
    assert providers == [OidcProvider(domain=DOMAIN, application_id="my-app")]


def test_oidc_provider_over_plain_http_is_allowed() -> None:
    # Local identity providers (as in these tests) speak plain http.
    providers = parse_providers([{"domain": "http://127.0.0.1:8000", "applicationID": "a"}])
    assert providers == [OidcProvider(domain="http://127.0.0.1:8000", application_id="a")]


@pytest.mark.parametrize("domain, expected", [
    ("your-domain.us.auth0.com", "https://your-domain.us.auth0.com"),
    ("your-domain.us.auth0.com/", "https://your-domain.us.auth0.com/"),
    ("auth.example.com/api/auth", "https://auth.example.com/api/auth"),
    ("https://auth.example.com", "https://auth.example.com"),
])
def test_oidc_domain_without_scheme_means_https(domain: str, expected: str) -> None:
    (provider,) = parse_providers([{"domain": domain, "applicationID": "a"}])
    assert provider == OidcProvider(domain=expected, application_id="a")


@pytest.mark.parametrize("url", [
    "http://localhost:8000", "http://LOCALHOST", "http://127.0.0.1", "http://127.8.9.10:1/x",
    "http://[::1]:9000",
])
def test_plain_http_is_allowed_for_loopback(url: str) -> None:
    (provider,) = parse_providers([{"domain": url, "applicationID": "a"}])
    assert provider.issuer == url
    (custom,) = parse_providers([custom_entry(issuer=url, jwks=url + "/jwks.json")])
    assert custom.issuer == url


@pytest.mark.parametrize("url", [
    "http://auth.example.com", "http://10.0.0.5:8080", "http://[::2]", "http://0.0.0.0",
    "http://localhost.example.com", "HTTP://auth.example.com",
])
@pytest.mark.parametrize("key", ["domain", "issuer", "jwks"])
def test_plain_http_elsewhere_is_refused(url: str, key: str) -> None:
    entry = ({"domain": url, "applicationID": "a"} if key == "domain"
             else custom_entry(**{key: url}))
    message = config_error([entry], rf"`{key}`.*plain http")
    assert "localhost" in message and "https://" in message


def test_custom_jwt_issuer_that_is_not_a_url_is_kept_as_is() -> None:
    (provider,) = parse_providers([custom_entry(issuer="my-token-service")])
    assert provider.issuer == "my-token-service"


def test_custom_jwt_provider() -> None:
    providers = parse_providers([custom_entry()])
    assert providers == [
        CustomJwtProvider(issuer=ISSUER, jwks=JWKS_URL, algorithm="RS256", application_id="my-app")
    ]


@pytest.mark.parametrize("app_key", ["applicationID", "application_id"])
def test_custom_jwt_application_id_spellings(app_key: str) -> None:
    entry = custom_entry(applicationID=None)
    entry[app_key] = "other-app"
    (provider,) = parse_providers([entry])
    assert isinstance(provider, CustomJwtProvider)
    assert provider.application_id == "other-app"


def test_custom_jwt_without_application_id() -> None:
    (provider,) = parse_providers([custom_entry(applicationID=None, algorithm="ES256")])
    assert provider == CustomJwtProvider(issuer=ISSUER, jwks=JWKS_URL, algorithm="ES256")
    assert provider.application_id is None


@pytest.mark.parametrize("jwks", [JWKS_DATA, jwks_data_uri({"keys": []}, base64_encoded=False),
                                  "http://127.0.0.1:9999/jwks.json"],
                         ids=["data-base64", "data-url-encoded", "http-url"])
def test_custom_jwt_jwks_forms(jwks: str) -> None:
    (provider,) = parse_providers([custom_entry(jwks=jwks)])
    assert isinstance(provider, CustomJwtProvider)
    assert provider.jwks == jwks


def test_several_providers_keep_their_order() -> None:
    value = [
        custom_entry(),
        {"domain": DOMAIN, "applicationID": "a"},
        {"domain": DOMAIN, "applicationID": "b"},
    ]
    providers = parse_providers(value)
    assert [type(p) for p in providers] == [CustomJwtProvider, OidcProvider, OidcProvider]
    assert [p.application_id for p in providers] == ["my-app", "a", "b"]


def test_empty_list() -> None:
    assert parse_providers([]) == []


def test_providers_are_frozen() -> None:
    (provider,) = parse_providers([{"domain": DOMAIN, "applicationID": "a"}])
    with pytest.raises(dataclasses.FrozenInstanceError):
        provider.domain = "https://evil.example.com"  # type: ignore[misc]


# -- invalid configurations -----------------------------------------------------------


@pytest.mark.parametrize("value", [{"domain": DOMAIN, "applicationID": "a"}, "providers", 42],
                         ids=["dict", "str", "int"])
def test_providers_not_a_list(value: Any) -> None:
    config_error(value, r"(?i)list")


@pytest.mark.parametrize("entry", ["https://auth.example.com", None, 3, ["domain", DOMAIN]],
                         ids=["str", "none", "int", "list"])
def test_non_dict_entry(entry: Any) -> None:
    config_error([{"domain": DOMAIN, "applicationID": "a"}, entry], r"(?i)provider")


def test_oidc_missing_domain() -> None:
    config_error([{"applicationID": "a"}], r"domain")


def test_oidc_missing_application_id() -> None:
    config_error([{"domain": DOMAIN}], r"(?i)applicationID|application_id|application id")


@pytest.mark.parametrize("domain", ["ftp://auth.example.com", "", 123, None, "https://"],
                         ids=["ftp", "empty", "int", "none", "no-host"])
def test_oidc_bad_domain(domain: Any) -> None:
    config_error([{"domain": domain, "applicationID": "a"}], r"domain")


@pytest.mark.parametrize("app_id", [123, None, ["a"]], ids=["int", "none", "list"])
def test_oidc_application_id_wrong_type(app_id: Any) -> None:
    config_error([{"domain": DOMAIN, "applicationID": app_id}],
                 r"(?i)applicationID|application_id|application id")


def test_unknown_key() -> None:
    message = config_error([{"domain": DOMAIN, "applicationID": "a", "clientSecret": "s"}],
                           r"clientSecret")
    assert "clientSecret" in message


def test_unknown_key_in_custom_jwt() -> None:
    config_error([custom_entry(kid="abc")], r"\bkid\b")


def test_unknown_type() -> None:
    config_error([{"type": "saml", "domain": DOMAIN, "applicationID": "a"}], r"(?i)saml|type")


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS512", "rs256", "", None, 256])
def test_custom_jwt_bad_algorithm(algorithm: Any) -> None:
    config_error([custom_entry(algorithm=algorithm)], r"(?i)algorithm")


@pytest.mark.parametrize("missing", ["issuer", "jwks"])
def test_custom_jwt_missing_key(missing: str) -> None:
    config_error([custom_entry(**{missing: None})], missing)


@pytest.mark.parametrize(
    "jwks",
    ["not a url", "ftp://example.com/jwks.json", "file:///etc/jwks.json", "/jwks.json", "", 7],
    ids=["words", "ftp", "file", "path", "empty", "int"],
)
def test_custom_jwt_jwks_not_url_or_data_uri(jwks: Any) -> None:
    config_error([custom_entry(jwks=jwks)], r"jwks")


def test_custom_jwt_issuer_not_a_string() -> None:
    config_error([custom_entry(issuer=42)], r"issuer")


def test_error_names_the_offending_provider() -> None:
    # The second entry is wrong; the message says which one (by index, 0- or 1-based).
    message = config_error(
        [{"domain": DOMAIN, "applicationID": "a"}, custom_entry(algorithm="HS256")],
        r"(?i)algorithm",
    )
    assert re.search(r"(?i)provider\D{0,3}[12]\b|\[[12]\]", message), message
    assert "HS256" in message


# -- providers_of(module) -------------------------------------------------------------


def test_providers_of_none_is_empty() -> None:
    assert providers_of(None) == []


def test_providers_of_module() -> None:
    module = types.ModuleType("auth_config")
    module.providers = [{"domain": DOMAIN, "applicationID": "a"}, custom_entry()]
    providers = providers_of(module)
    assert providers[0] == OidcProvider(domain=DOMAIN, application_id="a")
    assert isinstance(providers[1], CustomJwtProvider)


def test_providers_of_module_with_empty_list() -> None:
    module = types.ModuleType("auth_config")
    module.providers = []
    assert providers_of(module) == []


def test_providers_of_module_without_providers() -> None:
    module = types.ModuleType("auth_config")
    module.something_else = 1
    with pytest.raises(AuthConfigError, match=r"providers"):
        providers_of(module)


def test_providers_of_module_with_invalid_providers() -> None:
    module = types.ModuleType("auth_config")
    module.providers = [{"domain": DOMAIN}]
    with pytest.raises(AuthConfigError):
        providers_of(module)
