"""Password hashing (argon2id, OWASP parameters) and the password policy."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from fisioflow.core.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128
# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH = _HASHER.hash("fisioflow-dummy-password-for-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = files("fisioflow.auth").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_policy(password: str, *, field: str = "password", email: str | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password must have at most {MAX_LENGTH} characters", field=field)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) < 4:
        raise InvalidInput("password is too common; choose another", field=field)
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        raise InvalidInput("password must not contain your email", field=field)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


async def hash_password_async(password: str) -> str:
    """argon2 takes ~20 ms of CPU: off the event loop, so other requests keep flowing."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)
