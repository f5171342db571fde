"""Admin keys: derived from the deployment's instance secret.

Each deployment keeps a random instance secret in its data folder; an admin
key is `<instance name>|<HMAC of the secret>`, so it can be regenerated but
not guessed, and rotating the secret revokes every key. Admin keys unlock
internal functions, the admin API and the CLI (`Authorization: Convex <key>`).

A dashboard session (auth/dashboard_sessions.py), signed with the same secret, is an
admin credential too, until it expires or the secret is rotated: every check of an
admin key (`is_admin_key`) accepts one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from syncline.auth.dashboard_sessions import Session, issue_session, session_expiry
from syncline.errors import InvalidAdminKeyError

SECRET_FILE = "instance_secret"


class AdminKeys:
    def __init__(self, instance_name: str, secret: bytes, path: Path | None = None) -> None:
        self.instance_name = instance_name
        self._secret = secret
        self._path = path  # where the secret is kept (rotate() replaces it there)

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str], instance_name: str) -> AdminKeys:
        """Load the instance secret from `data_dir`, creating it (mode 0600) the first time."""
        path = Path(data_dir) / SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return cls(instance_name, bytes.fromhex(path.read_text().strip()), path)

    @property
    def secret(self) -> bytes:
        """The current instance secret (other signers, e.g. upload URLs, key off it)."""
        return self._secret

    def admin_key(self) -> str:
        digest = hmac.new(self._secret, b"syncline admin key v1", hashlib.sha256).hexdigest()
        return f"{self.instance_name}|{digest}"

    def new_session(self) -> Session:
        """A dashboard session: an admin credential that expires (dashboard_sessions.py)."""
        return issue_session(self._secret)

    def expiry(self, candidate: str) -> float | None:
        """When `candidate` stops being an admin credential: None (never) for the admin
        key, the expiry in Unix seconds for a dashboard session. Raises
        InvalidAdminKeyError for anything else, including an expired session."""
        if hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"),
                               self.admin_key().encode()):
            return None
        expires = session_expiry(self._secret, candidate)
        if expires is None:
            raise InvalidAdminKeyError("The admin key is not valid for this deployment")
        return float(expires)

    def is_admin_key(self, candidate: str) -> bool:
        """The admin key, or a valid unexpired dashboard session."""
        try:
            self.expiry(candidate)
        except InvalidAdminKeyError:
            return False
        return True

    def rotate(self) -> str:
        """Replace the instance secret (on disk atomically, mode 0600, then in memory):
        the old admin key and every dashboard session stop working. The new admin key."""
        secret = secrets.token_bytes(32)
        if self._path is not None:
            _write_atomically(self._path, secret.hex())
        self._secret = secret
        return self.admin_key()

    def check_authorization(self, header: str | None) -> bool:
        """Whether an `Authorization` header carries this deployment's admin key.

        The official clients send `Convex <key>` or, when acting as a user,
        `Convex <key>:<base64 identity>`.
        """
        if not header or not header.startswith("Convex "):
            return False
        key = header[len("Convex "):].strip().split(":", 1)[0]
        return self.is_admin_key(key)


def _write_atomically(path: Path, text: str) -> None:
    """Write `text` to a new file (mode 0600) beside `path`, flush it to disk and rename
    it over `path`: a crash leaves the old secret or the new one, never a torn file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
