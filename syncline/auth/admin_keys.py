"""Admin keys: derived from the deployment's instance secret.

Each deployment keeps a random instance secret in its data folder; an admin
key is `<instance name>|<HMAC of the secret>`, so it can be regenerated but
not guessed, and rotating the secret revokes every key. Admin keys unlock
internal functions, the admin API and the CLI (`Authorization: Convex <key>`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = "instance_secret"


class AdminKeys:
    def __init__(self, instance_name: str, secret: bytes) -> None:
        self.instance_name = instance_name
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str], instance_name: str) -> AdminKeys:
        """Load the instance secret from `data_dir`, creating it (mode 0600) the first time."""
        path = Path(data_dir) / SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return cls(instance_name, bytes.fromhex(path.read_text().strip()))

    def admin_key(self) -> str:
        digest = hmac.new(self._secret, b"syncline admin key v1", hashlib.sha256).hexdigest()
        return f"{self.instance_name}|{digest}"

    def is_admin_key(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.admin_key().encode())

    def check_authorization(self, header: str | None) -> bool:
        """Whether an `Authorization` header carries this deployment's admin key.

        The official clients send `Convex <key>` or, when acting as a user,
        `Convex <key>:<base64 identity>`.
        """
        if not header or not header.startswith("Convex "):
            return False
        key = header[len("Convex "):].strip().split(":", 1)[0]
        return self.is_admin_key(key)
