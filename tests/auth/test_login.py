from __future__ import annotations

import datetime as dt
import uuid

import httpx
import jwt
import pytest

from fisioflow.auth.tokens import ALGORITHM, AUDIENCE, ISSUER
from fisioflow.settings import Settings
from tests.fixtures.identity import PASSWORD, create_clinic, create_user, login


class TestLogin:
    async def test_login_returns_short_lived_access_and_refresh(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        admin = await create_clinic(client)
        response = await login(client, admin)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        claims = jwt.decode(
            body["access_token"],
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
        )
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert claims["tid"] == str(admin.clinic_id)
        assert body["refresh_token"].startswith("ffr_")

    async def test_email_is_case_insensitive(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/auth/login",
            json={
                "clinic_slug": admin.clinic_slug,
                "email": admin.email.upper(),
                "password": PASSWORD,
            },
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "unknown_clinic"])
    async def test_failures_look_identical(self, client: httpx.AsyncClient, case: str) -> None:
        admin = await create_clinic(client)
        payload = {"clinic_slug": admin.clinic_slug, "email": admin.email, "password": PASSWORD}
        if case == "wrong_password":
            payload["password"] = "not the password at all"
        elif case == "unknown_email":
            payload["email"] = "nobody@nowhere.com.br"
        else:
            payload["clinic_slug"] = "no-such-clinic"
        response = await client.post("/api/v1/auth/login", json=payload)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
        assert response.json()["detail"] == "invalid clinic, email or password"


class TestMe:
    async def test_me_shows_user_and_clinic(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client, name="Clínica Movimento")
        response = await client.get("/api/v1/me", headers=admin.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["id"] == str(admin.user_id)
        assert body["user"]["role"] == "admin"
        assert body["clinic"]["name"] == "Clínica Movimento"
        assert body["clinic"]["timezone"] == "America/Sao_Paulo"

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert "Bearer" in response.headers["www-authenticate"]


def _claims(actor_id: uuid.UUID, tenant: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": str(actor_id),
        "tid": str(tenant),
        "role": "admin",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    claims.update(overrides)
    return claims


class TestRejectedTokens:
    async def _get_me(self, client: httpx.AsyncClient, token: str) -> httpx.Response:
        return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    async def test_valid_forged_with_right_key_is_accepted(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        """Control: the hand-built claims are right, so the rejections below are meaningful."""
        admin = await create_clinic(client)
        key = settings.secret_key.get_secret_value()
        token = jwt.encode(_claims(admin.user_id, admin.clinic_id), key, algorithm=ALGORITHM)
        assert (await self._get_me(client, token)).status_code == 200

    async def test_expired(self, client: httpx.AsyncClient, settings: Settings) -> None:
        admin = await create_clinic(client)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        claims = _claims(admin.user_id, admin.clinic_id, exp=past)
        token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
        response = await self._get_me(client, token)
        assert response.status_code == 401
        assert response.json()["code"] == "token_expired"

    async def test_tampered_payload(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        other = await create_clinic(client)
        header, _, signature = admin.access_token.split(".")
        forged_payload = other.access_token.split(".")[1]
        response = await self._get_me(client, f"{header}.{forged_payload}.{signature}")
        assert response.status_code == 401

    async def test_alg_none(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        token = jwt.encode(_claims(admin.user_id, admin.clinic_id), None, algorithm="none")
        assert (await self._get_me(client, token)).status_code == 401

    async def test_wrong_key(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        claims = _claims(admin.user_id, admin.clinic_id)
        token = jwt.encode(claims, "another-key-another-key-another-key!", algorithm=ALGORITHM)
        assert (await self._get_me(client, token)).status_code == 401

    async def test_other_algorithm_with_same_key(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        admin = await create_clinic(client)
        key = settings.secret_key.get_secret_value()
        token = jwt.encode(_claims(admin.user_id, admin.clinic_id), key, algorithm="HS512")
        assert (await self._get_me(client, token)).status_code == 401

    async def test_garbage(self, client: httpx.AsyncClient) -> None:
        assert (await self._get_me(client, "not-a-jwt")).status_code == 401


class TestRefresh:
    async def test_rotation_issues_new_pair_and_old_one_is_single_use(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        first = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token}
        )
        assert first.status_code == 200
        rotated = first.json()["refresh_token"]
        assert rotated != admin.refresh_token
        second = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
        assert second.status_code == 200

    async def test_reuse_revokes_the_whole_family(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        rotated = (
            await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
        ).json()["refresh_token"]
        replay = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token}
        )
        assert replay.status_code == 401
        assert replay.json()["code"] == "token_reused"
        # the legitimate newest token of that family is dead too
        after = await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated})
        assert after.status_code == 401

    async def test_reuse_leaves_other_logins_alone(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        other_session = (await login(client, admin)).json()["refresh_token"]
        await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
        await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": other_session})
        assert response.status_code == 200

    async def test_logout_revokes(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        out = await client.post("/api/v1/auth/logout", json={"refresh_token": admin.refresh_token})
        assert out.status_code == 204
        response = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "ffr_nothex_abc",
            "ffr_01a20d8462707d6aaec35d460e2c8a7f_unknownsecret",
            "ffi_x_y",
        ],
    )
    async def test_malformed_or_unknown_refresh_token(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"


class TestBruteForce:
    async def test_eleventh_attempt_is_429_with_retry_after(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        for _ in range(10):
            assert (await login(client, admin, "wrong password!!")).status_code == 401
        blocked = await login(client, admin, "wrong password!!")
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        # even the right password waits: the account is locked for the window
        assert (await login(client, admin)).status_code == 429

    async def test_unknown_email_locks_the_same_way(self, client: httpx.AsyncClient) -> None:
        """Same answers for a non-existent account: nothing tells whether the email exists."""
        admin = await create_clinic(client)
        ghost = {"clinic_slug": admin.clinic_slug, "email": "ghost@x.com.br", "password": "x" * 12}
        codes = [
            (await client.post("/api/v1/auth/login", json=ghost)).status_code for _ in range(11)
        ]
        assert codes == [401] * 10 + [429]

    async def test_per_ip_limit(self, settings: Settings, database: object) -> None:
        from fisioflow.app import create_app

        limited = settings.model_copy(update={"ip_rate_limit": "3/minute"})
        app = create_app(limited, database)  # type: ignore[arg-type]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                payload = {"clinic_slug": "x", "email": "a@b.com.br", "password": "p"}
                codes = [
                    (await http.post("/api/v1/auth/login", json=payload)).status_code
                    for _ in range(4)
                ]
        assert codes == [401, 401, 401, 429]


class TestPasswordChange:
    async def test_change_then_login_with_new(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        new = "another long passphrase 42"
        response = await client.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers=admin.headers,
        )
        assert response.status_code == 204
        assert (await login(client, admin, new)).status_code == 200
        assert (await login(client, admin)).status_code == 401
        # refresh tokens issued before the change are revoked
        old = await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
        assert old.status_code == 401

    @pytest.mark.parametrize(
        ("new", "fragment"),
        [
            ("short", "at least 12"),
            ("password1234", "too common"),
            ("aaaaaaaaaaaaaaa", "too common"),
        ],
    )
    async def test_policy(self, client: httpx.AsyncClient, new: str, fragment: str) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers=admin.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "new_password"
        assert fragment in response.json()["detail"]

    async def test_wrong_current_password(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.post(
            "/api/v1/me/password",
            json={"current_password": "not it at all", "new_password": "a fine new passphrase"},
            headers=admin.headers,
        )
        assert response.status_code == 401


class TestInvitation:
    async def test_invited_user_sets_password_and_logs_in(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        practitioner = await create_user(client, admin, role="practitioner")
        assert (await login(client, practitioner)).status_code == 200

    async def test_invitation_is_single_use(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await client.post(
            "/api/v1/users",
            json={"email": "rec@x.com.br", "full_name": "Rita", "role": "receptionist"},
            headers=admin.headers,
        )
        invite = await client.post(
            f"/api/v1/users/{created.json()['id']}/invite", headers=admin.headers
        )
        token = invite.json()["token"]
        body = {"token": token, "password": PASSWORD}
        assert (await client.post("/api/v1/auth/accept-invite", json=body)).status_code == 200
        again = await client.post("/api/v1/auth/accept-invite", json=body)
        assert again.status_code == 401

    async def test_user_without_password_cannot_log_in(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        await client.post(
            "/api/v1/users",
            json={"email": "new@x.com.br", "full_name": "Novo", "role": "practitioner"},
            headers=admin.headers,
        )
        response = await client.post(
            "/api/v1/auth/login",
            json={"clinic_slug": admin.clinic_slug, "email": "new@x.com.br", "password": PASSWORD},
        )
        assert response.status_code == 401
