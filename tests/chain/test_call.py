import dataclasses

from msplex.call import Call, Principal


class _Peer:
    can_request = False

    async def notify(self, message: dict) -> None: ...

    async def request(self, method: str, params: dict | None) -> dict:
        return {}


def test_learned_sets_facts_and_keeps_everything_else() -> None:
    call = Call("tools/call", {"name": "x"}, 7, "legacy", "2025-11-25", {"sampling": {}}, _Peer(), tenant_slug="acme")
    principal = Principal(kind="token", tenant_id="t1", token_id="k1")
    later = call.learned(principal=principal)
    assert later.principal is principal and call.principal is None
    for field in dataclasses.fields(Call):
        if field.name != "principal":
            assert getattr(later, field.name) == getattr(call, field.name), field.name
    assert later == dataclasses.replace(call, principal=principal)


def test_learned_refuses_a_fact_the_call_does_not_have() -> None:
    import pytest

    call = Call("ping", {}, 1, "modern", "2026-07-28", {}, _Peer())
    with pytest.raises(TypeError, match="tenant_id"):
        call.learned(tenant_id="t1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.method = "tools/call"  # type: ignore[misc]


def test_a_credential_never_shows_the_token_and_hashes_it_once() -> None:
    from msplex.call import Credential
    from msplex.crypto import token_digest

    credential = Credential("mspx_secret-value")
    assert "secret" not in repr(credential) and "secret" not in str(credential)
    assert credential.digest == token_digest("mspx_secret-value")
    assert credential.digest is credential.digest  # computed once
    assert credential.raw == "mspx_secret-value"


def test_a_principal_key_survives_a_new_credential() -> None:
    assert Principal("token", "t1", "k1").key == Principal("token", "t1", "k1").key == "token:k1"
    assert Principal("anonymous", None).key == "anonymous"
