"""`convex/auth_config.py` is checked when code is pushed, like the schema and crons."""

from __future__ import annotations

import pytest

from syncline.functions import PushError
from syncline.server.deployment import Deployment

ME = """
from syncline import query

@query
async def me(ctx):
    identity = await ctx.auth.get_user_identity()
    return None if identity is None else identity.subject
"""


@pytest.fixture
async def deployment(tmp_path):
    convex = tmp_path / "app" / "convex"
    convex.mkdir(parents=True)
    (convex / "users.py").write_text(ME)
    deployment = Deployment(tmp_path / "app", data_dir=tmp_path / "data", durability="normal")
    yield deployment
    deployment.close()


def write_config(deployment: Deployment, text: str) -> None:
    (deployment.app_dir / "convex" / "auth_config.py").write_text(text)


async def test_no_auth_config_means_no_providers(deployment):
    await deployment.push()
    assert deployment.auth_verifier.providers == ()


@pytest.mark.parametrize("text, message", [
    ("x = 1\n", "must define `providers"),
    ("providers = {'domain': 'https://a'}\n", "must be a list"),
    ("providers = [{'domain': 'https://a'}]\n", "needs `application_id`"),
    ("providers = [{'type': 'customJwt', 'issuer': 'https://a', 'jwks': 'https://a/j',"
     " 'algorithm': 'HS256'}]\n", "`algorithm` must be one of RS256, ES256"),
    ("providers = [{'domain': 'https://a', 'applicationID': 'x', 'secret': 1}]\n",
     "unknown key(s) 'secret'"),
    ("providers = [{'type': 'customJwt', 'issuer': 'https://a', 'algorithm': 'RS256',"
     " 'jwks': 'data:application/json,%7B%22keys%22%3A%5B%5D%7D'}]\n", "no RSA or EC"),
    ("providers = [{'domain': None, 'application_id': 'x'}]\n",  # an unset env variable
     "`domain` must be an http(s) URL"),
    ("providers = [{'domain': 'http://auth.example.com', 'application_id': 'x'}]\n",
     "plain http, which is allowed only for localhost and loopback addresses"),
])
async def test_an_invalid_auth_config_is_refused_and_the_last_good_one_kept(
        deployment, text, message):
    write_config(deployment, "providers = [{'domain': 'https://good.example', "
                             "'application_id': 'app'}]\n")
    await deployment.push()
    good = deployment.auth_verifier
    app = deployment.app
    write_config(deployment, text)
    with pytest.raises(PushError, match="Invalid auth config") as failure:
        await deployment.push()
    assert message in str(failure.value)
    assert deployment.auth_verifier is good and deployment.app is app


async def test_key_caches_survive_pushes_that_keep_the_provider(deployment):
    config = ("providers = [{'type': 'customJwt', 'issuer': 'https://a', "
              "'jwks': 'https://a/jwks', 'algorithm': 'ES256'}]\n")
    write_config(deployment, config)
    await deployment.push()
    first = deployment.auth_verifier
    provider = first.providers[0]
    await deployment.push()
    assert deployment.auth_verifier is not first
    assert deployment.auth_verifier.keys_of(provider) is first.keys_of(provider)
    write_config(deployment, config.replace("https://a/jwks", "https://a/other"))
    await deployment.push()
    assert deployment.auth_verifier.providers[0].jwks == "https://a/other"


async def test_a_domain_without_scheme_is_pushed_as_https(deployment):
    # The Auth0 page's own example: `domain: "your-domain.us.auth0.com"`.
    write_config(deployment, "providers = [{'domain': 'your-domain.us.auth0.com', "
                             "'applicationID': 'abc'}]\n")
    await deployment.push()
    (provider,) = deployment.auth_verifier.providers
    assert provider.domain == "https://your-domain.us.auth0.com"
