"""Server-to-client requests nobody can be asked are answered by the gateway itself where it can."""

from msplex.upstream._rpc import answer


async def test_roots_list_with_nobody_to_ask_gets_an_empty_list() -> None:
    """Regression: a stdio upstream asking ``roots/list`` at start-up got an error and logged a failure."""
    reply = await answer({"jsonrpc": "2.0", "id": 5, "method": "roots/list"}, None)
    assert reply == {"jsonrpc": "2.0", "id": 5, "result": {"roots": []}}


async def test_other_requests_with_nobody_to_ask_get_a_typed_error() -> None:
    reply = await answer({"jsonrpc": "2.0", "id": "e", "method": "elicitation/create", "params": {}}, None)
    assert reply["id"] == "e" and reply["error"]["code"] == -32601


async def test_a_client_that_can_be_asked_answers_roots_itself() -> None:
    async def client(message: dict) -> dict:
        return {"result": {"roots": [{"uri": "file:///work"}]}}

    reply = await answer({"jsonrpc": "2.0", "id": 1, "method": "roots/list"}, client)
    assert reply["result"] == {"roots": [{"uri": "file:///work"}]}
