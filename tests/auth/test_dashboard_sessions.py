"""Dashboard sessions and one-time login tokens, in process (auth/dashboard_sessions.py)."""

from __future__ import annotations

import os
import stat
import time

import pytest

from syncline.auth import AdminKeys
from syncline.auth.dashboard_sessions import (
    MAX_LOGIN_TOKENS,
    SESSION_TTL_S,
    LoginTokens,
    issue_session,
    session_expiry,
)
from syncline.errors import InvalidAdminKeyError

SECRET = b"s" * 32


def test_a_session_is_an_admin_credential_until_it_expires():
    session = issue_session(SECRET)
    assert abs(session.expires_at - (time.time() + SESSION_TTL_S)) < 5
    assert session_expiry(SECRET, session.token) == session.expires_at
    # HTTP sends `Convex <credential>:<identity>`: no ':' and no whitespace in it.
    assert ":" not in session.token and session.token.split() == [session.token]
    assert session_expiry(SECRET, session.token, now=session.expires_at) is None
    assert session_expiry(b"t" * 32, session.token) is None  # another deployment's


@pytest.mark.parametrize("tamper", [
    lambda t: t.replace("session.", "session.1", 1),  # a later expiry
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # the signature
    lambda t: t + ".x", lambda t: "", lambda t: "session.", lambda t: t.upper(),
    lambda t: t.replace("session.", "session.\u0661", 1),  # a non-ASCII digit
])
def test_a_changed_session_is_refused(tamper):
    assert session_expiry(SECRET, tamper(issue_session(SECRET).token)) is None


def test_admin_keys_accept_the_key_and_sessions_and_rotation_revokes_both(tmp_path):
    keys = AdminKeys.for_data_dir(tmp_path, "syncline-local")
    old_key, session = keys.admin_key(), keys.new_session()
    assert keys.expiry(old_key) is None
    assert keys.expiry(session.token) == session.expires_at
    assert keys.check_authorization(f"Convex {session.token}:e30=")
    expired = issue_session(keys.secret, ttl_s=-1)
    assert not keys.is_admin_key(expired.token)
    with pytest.raises(InvalidAdminKeyError):
        keys.expiry(expired.token)

    new_key = keys.rotate()
    assert new_key != old_key and keys.is_admin_key(new_key)
    assert not keys.is_admin_key(old_key) and not keys.is_admin_key(session.token)
    assert stat.S_IMODE(os.stat(tmp_path / "instance_secret").st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["instance_secret"]  # no temporary left
    # A restart reads the new secret: the new key, not the old one.
    reloaded = AdminKeys.for_data_dir(tmp_path, "syncline-local")
    assert reloaded.admin_key() == new_key and not reloaded.is_admin_key(old_key)


def test_a_login_token_works_once_and_expires():
    tokens = LoginTokens()
    token, expires = tokens.issue()
    assert abs(expires - (time.time() + 600)) < 5
    assert tokens.redeem(token) and not tokens.redeem(token)
    assert not tokens.redeem("made-up")
    old = LoginTokens(ttl_s=-1)
    expired, _ = old.issue()
    assert not old.redeem(expired)
    cleared, _ = tokens.issue()
    tokens.clear()
    assert not tokens.redeem(cleared)


def test_outstanding_login_tokens_are_bounded_oldest_first():
    tokens = LoginTokens()
    first, _ = tokens.issue()
    issued = [tokens.issue()[0] for _ in range(MAX_LOGIN_TOKENS)]
    assert len(tokens) == MAX_LOGIN_TOKENS
    assert not tokens.redeem(first) and tokens.redeem(issued[-1]) and tokens.redeem(issued[0])
