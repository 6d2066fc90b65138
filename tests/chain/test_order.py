from msplex import chain
from msplex.chain.stage import Applies


def test_the_chain_runs_its_stages_in_the_documented_order() -> None:
    assert [stage.name for stage in chain.STAGES] == [
        "authenticate",
        "resolve_tenant",
        "resolve_target",
        "check_approval",
    ]


def test_gateway_answered_methods_clear_only_the_identity_stages() -> None:
    assert {stage.name: stage.applies for stage in chain.STAGES} == {
        "authenticate": Applies.EVERY_CALL,
        "resolve_tenant": Applies.EVERY_CALL,
        "resolve_target": Applies.DISPATCHED,
        "check_approval": Applies.DISPATCHED,
    }


def test_every_call_ends_with_write_audit_after_dispatch() -> None:
    from msplex.chain.stages.write_audit import WriteAudit
    from msplex.directory import Directory
    from msplex.identity.principals import Identities

    directory = Directory()
    assembled = chain.assemble(identities=Identities(directory), directory=directory, catalogues=lambda _: None)
    assert isinstance(assembled.audit, WriteAudit) and assembled.audit.name == "write_audit"
