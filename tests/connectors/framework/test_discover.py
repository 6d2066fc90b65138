"""Customer discovery by name: a unique match is proposed, anything ambiguous is refused."""

from __future__ import annotations

from msplex.connectors.framework.discover import normalise, propose
from msplex.connectors.framework.spec import Company


def test_names_normalise_case_accents_punctuation_and_legal_suffixes() -> None:
    assert normalise("Contoso, Ltd.") == normalise("contoso") == "contoso"
    assert normalise("Müller GmbH") == "muller"
    assert normalise("The Co") == "the"


def test_unique_matches_are_proposed_and_ambiguity_refused() -> None:
    companies = [
        Company("1", "Contoso Ltd"),
        Company("2", "Fabrikam Inc"),
        Company("3", "Fabrikam LLC"),
        Company("4", "Northwind"),
        Company("5", "Tailspin"),
    ]
    customers = [
        ("contoso", "Contoso"),
        ("fabrikam", "Fabrikam"),
        ("northwind", "Northwind Traders"),
        ("nw", "Northwind"),
        ("tailspin", "Tailspin Toys"),
        ("woodgrove", "Woodgrove Bank"),
    ]
    proposals = {p.customer: p for p in propose(customers, companies, {"tailspin": "5"})}
    assert proposals["contoso"].verdict == "match" and proposals["contoso"].vendor_id == "1"
    assert proposals["fabrikam"].verdict == "ambiguous" and proposals["fabrikam"].vendor_id is None
    # "northwind" matches by its slug, "nw" by its display name: one record, two claimants, neither mapped
    assert proposals["northwind"].verdict == proposals["nw"].verdict == "contested"
    assert proposals["tailspin"].verdict == "mapped"
    assert proposals["woodgrove"].verdict == "none"
