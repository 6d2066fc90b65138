import pytest

from msplex.call import Call
from msplex.catalogue.listing import Listing, Source
from msplex.catalogue.merged import Catalogue, decode_cursor


class _Connector:
    async def execute(self, call: Call) -> dict:
        raise AssertionError("never dispatched here")


_CONNECTOR = _Connector()


def UpstreamView(name: str, prefixed: bool, listing: Listing) -> Source:
    return Source("upstream", name, prefixed, listing, _CONNECTOR)


def _tools(*names: str) -> tuple[dict, ...]:
    return tuple({"name": n, "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}} for n in names)


def _names(cat: Catalogue) -> list[str]:
    return [t["name"] for t in cat.items("tools")]


def test_adding_an_upstream_never_renames_existing_tools() -> None:
    one = Catalogue.build(1, [UpstreamView("a", True, Listing(tools=_tools("x", "y")))])
    two = Catalogue.build(
        2,
        [
            UpstreamView("a", True, Listing(tools=_tools("x", "y"))),
            UpstreamView("b", True, Listing(tools=_tools("x"))),
        ],
    )
    assert set(_names(one)) <= set(_names(two))
    assert _names(two) == ["a__x", "a__y", "b__x"]
    assert two.tools["b__x"].instance == "b" and two.tools["b__x"].name == "x"


def test_items_pass_through_with_only_the_name_rewritten() -> None:
    cat = Catalogue.build(1, [UpstreamView("a", True, Listing(tools=_tools("x")))])
    assert cat.items("tools")[0] == {
        "name": "a__x",
        "inputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
    }


def test_earlier_unprefixed_upstream_keeps_a_contested_name() -> None:
    cat = Catalogue.build(
        1,
        [
            UpstreamView("first", False, Listing(tools=_tools("echo"))),
            UpstreamView("second", False, Listing(tools=_tools("echo", "other"))),
        ],
    )
    assert cat.tools["echo"].instance == "first"
    assert cat.tools["other"].instance == "second"
    assert cat.conflicts and "second" in cat.conflicts[0]


def test_pagination_walks_every_item_once_in_order() -> None:
    names = [f"t{i:03d}" for i in range(250)]
    cat = Catalogue.build(1, [UpstreamView("a", False, Listing(tools=_tools(*names)))])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = cat.page("tools/list", cursor, 100)
        pages += 1
        seen.extend(t["name"] for t in page["tools"])
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(names)


@pytest.mark.parametrize("cursor", ["garbage", "", "x" * 100, "eyJvIjotMX0"])
def test_foreign_cursors_are_rejected(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(cursor)


def test_uris_route_to_their_upstream() -> None:
    cat = Catalogue.build(
        1,
        [
            UpstreamView(
                "docs",
                True,
                Listing(
                    resources=({"uri": "test://static-text", "name": "t"},),
                    resourceTemplates=({"uriTemplate": "test://template/{id}/data", "name": "tpl"},),
                ),
            ),
            UpstreamView("plain", False, Listing(resources=({"uri": "demo://a", "name": "a"},))),
        ],
    )
    assert [r["uri"] for r in cat.items("resources")] == ["demo://a", "docs+test://static-text"]
    assert cat.items("resourceTemplates")[0]["uriTemplate"] == "docs+test://template/{id}/data"
    route = cat.route_uri("docs+test://template/7/data")
    assert route is not None and (route.instance, route.name) == ("docs", "test://template/7/data")
    route = cat.route_uri("demo://a")
    assert route is not None and (route.instance, route.name) == ("plain", "demo://a")
    route = cat.route_uri("demo://unlisted")
    assert route is not None and route.instance == "plain"
    assert Catalogue.build(1, []).route_uri("demo://a") is None


def test_lists_are_filtered_before_they_are_paginated() -> None:
    names = [f"t{i:03d}" for i in range(30)]
    cat = Catalogue.build(1, [UpstreamView("a", False, Listing(tools=_tools(*names)))])
    visible = {f"t{i:03d}" for i in range(0, 30, 3)}  # every third tool
    page = cat.page("tools/list", None, 4, lambda target: target.public in visible)
    assert [t["name"] for t in page["tools"]] == ["t000", "t003", "t006", "t009"]
    rest = cat.page("tools/list", page["nextCursor"], 4, lambda target: target.public in visible)
    assert [t["name"] for t in rest["tools"]] == ["t012", "t015", "t018", "t021"]
    last = cat.page("tools/list", rest["nextCursor"], 4, lambda target: target.public in visible)
    assert [t["name"] for t in last["tools"]] == ["t024", "t027"] and "nextCursor" not in last


def test_targets_name_the_source_and_the_connector() -> None:
    cat = Catalogue.build(1, [UpstreamView("files", True, Listing(tools=_tools("read")))])
    target = cat.tools["files__read"]
    assert (target.kind, target.public, target.instance, target.name, target.provider) == (
        "tool",
        "files__read",
        "files",
        "read",
        "upstream",
    )
    assert target.connector is _CONNECTOR and target.item is not None and target.item["name"] == "read"


def test_tools_with_x_mcp_header_get_a_param_map() -> None:
    schema = {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}
    tool = {"name": "where", "inputSchema": schema}
    cat = Catalogue.build(1, [UpstreamView("geo", True, Listing(tools=(tool, *_tools("plain"))))])
    assert cat.param_maps == {"geo__where": ((("region",), "Region", "string"),)}
