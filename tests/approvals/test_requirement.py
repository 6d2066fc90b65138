"""What needs an approval (policy's decision, else the destructive annotation), and what an approver sees."""

from __future__ import annotations

from typing import Any

from msplex.approvals import REDACTED, redact_arguments
from msplex.call import Call, Decision, Target
from msplex.chain.stages.check_approval import approval_required


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def _call(annotations: dict[str, Any] | None, kind: str = "tool", decision: Decision | None = None) -> Call:
    item = {"name": "wipe", "annotations": annotations} if annotations is not None else {"name": "wipe"}
    target = Target(kind, "ev__wipe", "ev", "wipe", None, "upstream", item)  # type: ignore[arg-type]
    call = Call("tools/call", {"name": "ev__wipe"}, 1, "legacy", "2025-11-25", {}, _Peer())
    return call.learned(target=target, decision=decision)


def test_by_default_only_tools_annotated_destructive_need_an_approval() -> None:
    assert approval_required(_call({"destructiveHint": True}))
    assert not approval_required(_call({"destructiveHint": False}))
    assert not approval_required(_call({"readOnlyHint": True}))
    assert not approval_required(_call(None))
    assert not approval_required(_call({"destructiveHint": "yes"}))
    assert not approval_required(_call({"destructiveHint": True}, kind="resource"))


def test_a_policy_decision_overrides_the_default_both_ways() -> None:
    assert approval_required(_call(None, decision=Decision("rule-7", approval=True)))
    assert not approval_required(_call({"destructiveHint": True}, decision=Decision("rule-8", approval=False)))


def test_an_approver_sees_arguments_with_secrets_replaced_at_any_depth() -> None:
    schema = {"properties": {"code": {"type": "string", "format": "password"}, "note": {"writeOnly": True}}}
    shown = redact_arguments(
        {
            "target": "srv-1",
            "password": "hunter2",
            "code": "0000",
            "note": "x",
            "author": "ann",
            "config": {"api_key": "k-1", "hosts": [{"token": "t-1", "name": "a"}]},
            "long": "y" * 2000,
        },
        schema,
    )
    assert shown["target"] == "srv-1" and shown["author"] == "ann"
    assert shown["password"] == shown["code"] == shown["note"] == REDACTED
    assert shown["config"] == {"api_key": REDACTED, "hosts": [{"token": REDACTED, "name": "a"}]}
    assert len(shown["long"]) < 600 and "2000 characters" in shown["long"]
    text = str(shown)
    assert not any(secret in text for secret in ("hunter2", "0000", "k-1", "t-1"))
