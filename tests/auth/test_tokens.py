"""Verified access tokens kept until they expire (auth/tokens.py VerifiedTokens)."""

from __future__ import annotations

import uuid

import jwt
import pytest

from fisioflow.auth.principal import Principal, Role, trusted_tenant
from fisioflow.auth.tokens import VerifiedTokens, issue_access_token
from fisioflow.core.errors import Unauthorized

KEY = "k" * 64
PRINCIPAL = Principal(
    tenant_id=trusted_tenant(uuid.uuid4()), user_id=uuid.uuid4(), role=Role.PRACTITIONER
)


def _token(key: str = KEY) -> str:
    return issue_access_token(PRINCIPAL, key=key, minutes=15)


class TestVerifiedTokens:
    def test_principal_of_a_valid_token_verified_once(self) -> None:
        tokens = VerifiedTokens(KEY)
        token = _token()
        assert tokens.principal(token) == PRINCIPAL
        assert tokens.principal(token) == PRINCIPAL
        info = tokens._verify.cache_info()
        assert (info.misses, info.hits) == (1, 1)

    def test_kept_token_is_refused_once_it_expires(self) -> None:
        tokens = VerifiedTokens(KEY)
        token = _token()
        tokens.principal(token)
        expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
        assert tokens.principal(token, now=expires_at - 1) == PRINCIPAL
        with pytest.raises(Unauthorized) as expired:
            tokens.principal(token, now=expires_at)
        assert expired.value.code == "token_expired"

    def test_rejected_tokens_are_never_kept(self) -> None:
        tokens = VerifiedTokens(KEY)
        header, payload, signature = _token().split(".")
        tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
        for bad in (tampered, _token(key="x" * 64), "not-a-jwt"):
            for _ in range(2):
                with pytest.raises(Unauthorized) as refused:
                    tokens.principal(bad)
                assert refused.value.code == "invalid_token"
        assert tokens._verify.cache_info().currsize == 0

    def test_an_expired_token_is_refused_before_it_is_kept(self) -> None:
        tokens = VerifiedTokens(KEY)
        expired = issue_access_token(PRINCIPAL, key=KEY, minutes=-1)
        with pytest.raises(Unauthorized) as refused:
            tokens.principal(expired)
        assert refused.value.code == "token_expired"
        assert tokens._verify.cache_info().currsize == 0

    def test_least_recently_used_tokens_make_room(self) -> None:
        tokens = VerifiedTokens(KEY, size=2)
        for _ in range(5):
            tokens.principal(_token())
        assert tokens._verify.cache_info().currsize == 2
