from msplex.catalogue.naming import public_name, public_uri, split_name, split_uri, valid_upstream_name


def test_prefixed_names_round_trip() -> None:
    assert public_name("halo", "list_tickets", prefixed=True) == "halo__list_tickets"
    assert split_name("halo__list_tickets") == ("halo", "list_tickets")
    assert split_name("halo__a__b") == ("halo", "a__b")


def test_unprefixed_names_are_unchanged() -> None:
    assert public_name("halo", "list_tickets", prefixed=False) == "list_tickets"


def test_prefixed_uris_stay_valid_uris_and_round_trip() -> None:
    assert public_uri("docs", "test://static-text", prefixed=True) == "docs+test://static-text"
    assert split_uri("docs+test://static-text") == ("docs", "test://static-text")
    assert split_uri("docs+file:///etc/x") == ("docs", "file:///etc/x")
    assert split_uri("test://static-text") is None


def test_upstream_names_exclude_the_separators() -> None:
    assert valid_upstream_name("halo-psa")
    for bad in ("Halo", "halo_psa", "halo+x", "", "1halo", "a" * 64):
        assert not valid_upstream_name(bad)
