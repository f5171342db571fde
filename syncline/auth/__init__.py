"""Authentication: admin keys now; JWT/OIDC providers and identities later."""

from syncline.auth.admin_keys import AdminKeys

__all__ = ["AdminKeys"]
