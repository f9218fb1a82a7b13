"""Who may relay: clients from allowed networks, or users who authenticated over TLS.

The password file holds ``user:scrypt$<n>$<r>$<p>$<salt-hex>$<hash-hex>`` lines
(``consent-relay config hash-password`` writes one). aiosmtpd calls the authenticator
synchronously, so users are loaded into memory at start; no database on this path.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def load_users(path: Path | None) -> dict[str, str]:
    """Parse the users file; raise ValueError naming the line of any malformed entry."""
    if path is None:
        return {}
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not stored.startswith("scrypt$"):
            raise ValueError(f"{path}:{number}: expected 'user:scrypt$...' (see README)")
        users[user] = stored
    return users


class Access:
    """Relay permission checks and the aiosmtpd authenticator."""

    def __init__(self, allowed_clients: Iterable[str], users: dict[str, str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in allowed_clients]
        self.users = users

    @property
    def has_users(self) -> bool:
        return bool(self.users)

    def client_allowed(self, peer: Any) -> bool:
        try:
            host = peer[0] if isinstance(peer, tuple) else str(peer)
            address = ipaddress.ip_address(host.split("%")[0])
        except (ValueError, IndexError, TypeError):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def may_relay(self, session: Any) -> bool:
        return bool(getattr(session, "authenticated", False)) or self.client_allowed(session.peer)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        stored = self.users.get(user)
        password = auth_data.password.decode("utf-8", "replace")
        ok = stored is not None and check_password(password, stored)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)
