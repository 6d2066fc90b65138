from msplex import chain
from msplex.chain.stage import Applies, Sieve


def test_the_chain_runs_its_stages_in_the_documented_order() -> None:
    assert [stage.name for stage in chain.STAGES] == [
        "authenticate",  # 1
        "resolve_tenant",  # 2
        "resolve_customer",  # 3
        "load_entitlements",  # 4
        "verify_subscription",  # 5
        "resolve_target",  # after the tenant-wide checks, before what reads the target
        "verify_entitlement",  # 6
        "verify_readiness",  # 7
        "evaluate_policy",  # 8
        "check_quota",  # 9
        "check_approval",  # 10
    ]


def test_gateway_answered_methods_clear_only_the_identity_stages() -> None:
    assert {stage.name: stage.applies for stage in chain.STAGES} == {
        "authenticate": Applies.EVERY_CALL,
        "resolve_tenant": Applies.EVERY_CALL,
        "resolve_customer": Applies.DISPATCHED,
        "load_entitlements": Applies.DISPATCHED,
        "verify_subscription": Applies.DISPATCHED,
        "resolve_target": Applies.DISPATCHED,
        "verify_entitlement": Applies.DISPATCHED,
        "verify_readiness": Applies.DISPATCHED,
        "evaluate_policy": Applies.DISPATCHED,
        "check_quota": Applies.DISPATCHED,
        "check_approval": Applies.DISPATCHED,
    }


def test_the_stages_that_refuse_by_item_filter_the_lists() -> None:
    assert sorted(stage.name for stage in chain.STAGES if issubclass(stage, Sieve)) == [
        "verify_entitlement",
        "verify_readiness",
    ]
