from msplex import chain


def test_the_chain_runs_its_stages_in_the_documented_order() -> None:
    assert [name for name, _ in chain.STAGES] == ["authenticate", "resolve_tenant"]
