import pytest

from msplex.catalogue.federated import Catalogue, Listing, UpstreamView, decode_cursor


def _tools(*names: str) -> tuple[dict, ...]:
    return tuple({"name": n, "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}} for n in names)


def _names(cat: Catalogue) -> list[str]:
    return [t["name"] for t in cat.items["tools"]]


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
    assert two.tools["b__x"].upstream == "b" and two.tools["b__x"].name == "x"


def test_items_pass_through_with_only_the_name_rewritten() -> None:
    cat = Catalogue.build(1, [UpstreamView("a", True, Listing(tools=_tools("x")))])
    assert cat.items["tools"][0] == {
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
    assert cat.tools["echo"].upstream == "first"
    assert cat.tools["other"].upstream == "second"
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
    assert [r["uri"] for r in cat.items["resources"]] == ["demo://a", "docs+test://static-text"]
    assert cat.items["resourceTemplates"][0]["uriTemplate"] == "docs+test://template/{id}/data"
    route = cat.route_uri("docs+test://template/7/data")
    assert route is not None and (route.upstream, route.name) == ("docs", "test://template/7/data")
    route = cat.route_uri("demo://a")
    assert route is not None and (route.upstream, route.name) == ("plain", "demo://a")
    route = cat.route_uri("demo://unlisted")
    assert route is not None and route.upstream == "plain"
    assert Catalogue.build(1, []).route_uri("demo://a") is None
