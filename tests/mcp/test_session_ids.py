from msplex.crypto import Keyring
from msplex.mcp.sessions import SessionCodec, credential_tag


def _keyring(seed: int) -> Keyring:
    return Keyring([bytes([seed]) * 32])


def test_a_session_id_opens_on_any_replica_with_the_key() -> None:
    token, issued = SessionCodec(_keyring(1)).issue("t1", "2025-11-25", {"sampling": {}}, {"name": "c"}, "tag")
    opened = SessionCodec(_keyring(1)).open(token)
    assert opened is not None
    assert (opened.sid, opened.tenant_id, opened.version) == (issued.sid, "t1", "2025-11-25")
    assert opened.capabilities == {"sampling": {}}


def test_tampered_or_foreign_session_ids_open_nothing() -> None:
    token, _ = SessionCodec(_keyring(1)).issue("t1", "2025-11-25", {}, None, "tag")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert SessionCodec(_keyring(1)).open(flipped) is None
    assert SessionCodec(_keyring(2)).open(token) is None
    assert SessionCodec(_keyring(1)).open("not-a-session") is None


def test_credential_tags_bind_sessions_to_one_credential() -> None:
    assert credential_tag("a") != credential_tag("b")
    assert credential_tag(None) == "-"
    assert "secret" not in credential_tag("secret")
