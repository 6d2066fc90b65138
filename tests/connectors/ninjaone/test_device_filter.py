"""The connector's ``df`` against the NinjaOne fake's parser: no filter text the connector lets through, AND-ed
after the bound organization, selects another organization's device; typed arguments build the documented
syntax; the organization pin is the first clause whatever the model passes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msplex.connectors.framework import Scope, ToolContext, ToolError
from msplex.connectors.framework.spec import InstanceConfig
from msplex.connectors.ninjaone._api import checked_df, device_filter
from msplex.sandbox._ninja_df import FilterError, parse

FOREIGN = {"id": 1, "organizationId": 1, "locationId": 10, "nodeClass": "MAC", "approvalStatus": "APPROVED",
           "offline": False, "created": 1_790_000_000.0, "nodeRoleId": 103, "policyId": 300}  # fmt: skip
WORDS = ["org", "loc", "id", "class", "status", "online", "offline", "in", "not", "or", "OR", "and", "AND", "=",
         "!=", "(", ")", ",", "1", "2", "MAC", "APPROVED", "created", "after", "2026-01-01", ";", "*"]  # fmt: skip
TRICKY = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


def _ctx(customer: str | None = "globex", vendor_id: str | None = "2") -> ToolContext:
    scope = Scope(customer, vendor_id, "organization") if customer else Scope(term="organization")
    return ToolContext(None, scope, InstanceConfig("http://ninja"), "ninja", "ninjaone", "north")  # type: ignore[arg-type]


@settings(max_examples=500)
@given(TRICKY)
def test_nothing_checked_lets_through_selects_another_organizations_device(text: str) -> None:
    try:
        df = device_filter(_ctx(), {"df": text})
    except ToolError:
        return
    assert df is not None and (df == "org = 2" or df.startswith("org = 2 AND "))
    try:
        keep = parse(df)
    except FilterError:
        return  # NinjaOne refuses it: nothing is read
    assert keep(FOREIGN) is False


@pytest.mark.parametrize("text", ["org = 1 OR org = 2", "(org = 1)", "org = 1;", "org >= 1", "name = x", "x" * 10])
def test_text_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(ToolError):
        checked_df(text)


def test_typed_arguments_build_the_documented_syntax() -> None:
    args = {"location_id": 20, "node_classes": ["WINDOWS_SERVER", "MAC"], "approval": "APPROVED", "online": False,
            "created_after": "2026-01-01", "df": "role != 5 and id not in (3, 4)"}  # fmt: skip
    assert device_filter(_ctx(), args) == (
        "org = 2 AND loc = 20 AND class in (WINDOWS_SERVER, MAC) AND status = APPROVED AND offline AND "
        "created after 2026-01-01 AND role != 5 AND id not in (3, 4)"
    )
    parse(device_filter(_ctx(), args) or "")


def test_an_unbound_call_filters_on_the_organization_it_names_or_none() -> None:
    assert device_filter(_ctx(None), {"organization_id": 1}) == "org = 1"
    assert device_filter(_ctx(None), {}) is None
    with pytest.raises(ToolError, match="organization 1 not found"):
        device_filter(_ctx(), {"organization_id": 1})
