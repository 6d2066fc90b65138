from msplex.crypto import Keyring
from msplex.mcp.session_ids import SessionCodec


def _keyring(seed: int) -> Keyring:
    return Keyring([bytes([seed]) * 32])


def test_a_session_id_opens_on_any_replica_with_the_key() -> None:
    token, issued = SessionCodec(_keyring(1)).issue("t1", "2025-11-25", {"sampling": {}}, {"name": "c"}, "token:k1")
    opened = SessionCodec(_keyring(1)).open(token)
    assert opened is not None
    assert (opened.sid, opened.tenant_id, opened.version) == (issued.sid, "t1", "2025-11-25")
    assert opened.capabilities == {"sampling": {}}


def test_tampered_or_foreign_session_ids_open_nothing() -> None:
    token, _ = SessionCodec(_keyring(1)).issue("t1", "2025-11-25", {}, None, "token:k1")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert SessionCodec(_keyring(1)).open(flipped) is None
    assert SessionCodec(_keyring(2)).open(token) is None
    assert SessionCodec(_keyring(1)).open("not-a-session") is None


def test_a_session_remembers_the_principal_that_opened_it_not_its_token() -> None:
    token, _ = SessionCodec(_keyring(1)).issue("t1", "2025-11-25", {}, None, "token:k1")
    opened = SessionCodec(_keyring(1)).open(token)
    assert opened is not None and opened.principal == "token:k1"
