from msplex import chain
from msplex.chain.stage import Applies


def test_the_chain_runs_its_stages_in_the_documented_order() -> None:
    assert [stage.name for stage in chain.STAGES] == [
        "authenticate",
        "resolve_tenant",
        "resolve_target",
        "evaluate_policy",
        "check_quota",
        "check_approval",
    ]


def test_gateway_answered_methods_clear_only_the_identity_stages() -> None:
    assert {stage.name: stage.applies for stage in chain.STAGES} == {
        "authenticate": Applies.EVERY_CALL,
        "resolve_tenant": Applies.EVERY_CALL,
        "resolve_target": Applies.DISPATCHED,
        "evaluate_policy": Applies.DISPATCHED,
        "check_quota": Applies.DISPATCHED,
        "check_approval": Applies.DISPATCHED,
    }
