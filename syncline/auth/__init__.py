"""Authentication: admin keys, and user tokens from the app's JWT/OIDC providers."""

from syncline.auth.admin_keys import AdminKeys
from syncline.auth.providers import (
    AuthConfigError,
    AuthProvider,
    CustomJwtProvider,
    OidcProvider,
    parse_providers,
    providers_of,
)
from syncline.auth.verifier import AuthenticationError, TokenVerifier, VerifiedToken

__all__ = [
    "AdminKeys", "AuthConfigError", "AuthProvider", "AuthenticationError", "CustomJwtProvider",
    "OidcProvider", "TokenVerifier", "VerifiedToken", "parse_providers", "providers_of",
]
