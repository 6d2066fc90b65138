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
