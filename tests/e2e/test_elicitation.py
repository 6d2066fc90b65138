"""Server-to-client requests (elicitation) bridged across eras by the gateway.

``ev`` is dual-era, so the gateway talks 2026-07-28 to it and it asks with an
``InputRequiredResult``; ``old`` (HTTP) and ``sio`` (stdio) are legacy and ask
with an ``elicitation/create`` request on their session.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from e2e_support import Deployment, text_of

from support.gateway import connect

MODES = ["legacy", "2026-07-28"]


class Answerer:
    """An elicitation callback that records what it was asked and answers with ``action``."""

    def __init__(self, action: str = "accept", colour: str = "blue") -> None:
        self.action = action
        self.colour = colour
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        content = {"colour": self.colour} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", ["old", "sio"])
async def test_legacy_upstream_elicitation_reaches_the_client(deployment: Deployment, mode: str, upstream: str) -> None:
    """Legacy client: relayed on the POST stream. 2026-07-28 client: a parked call and MRTR rounds."""
    answer = Answerer(colour=f"blue-{upstream}")
    async with connect(deployment.url, deployment.token, mode, elicitation_callback=answer) as client:
        result = await client.call_tool(f"{upstream}__ask", {})
    assert answer.asked == ["Colour?"]
    assert text_of(result) == f"accept:blue-{upstream}"


@pytest.mark.parametrize("mode", MODES)
async def test_modern_upstream_input_required_reaches_the_client(deployment: Deployment, mode: str) -> None:
    """Legacy client: the gateway turns each input request into ``elicitation/create`` and retries
    upstream. 2026-07-28 client: the ``InputRequiredResult`` passes through and the retry routes back."""
    answer = Answerer(colour="green")
    async with connect(deployment.url, deployment.token, mode, elicitation_callback=answer) as client:
        result = await client.call_tool("ev__ask", {})
    assert answer.asked == ["Colour?"]
    text = text_of(result)
    assert text.startswith("modern answer:") and "green" in text and "accept" in text


@pytest.mark.parametrize("mode", MODES)
async def test_declined_elicitation_is_relayed(deployment: Deployment, mode: str) -> None:
    answer = Answerer(action="decline")
    async with connect(deployment.url, deployment.token, mode, elicitation_callback=answer) as client:
        result = await client.call_tool("old__ask", {})
    assert text_of(result) == "decline:None"


async def test_modern_client_input_required_result_is_a_real_round_trip(deployment: Deployment) -> None:
    """Drive the MRTR loop by hand: the gateway's first answer is an ``InputRequiredResult``
    with an opaque ``requestState``; a forged state is refused; the real one completes."""
    async with connect(deployment.url, deployment.token, "2026-07-28") as client:
        await client.list_tools()
        first = await client.session.call_tool("old__ask", {}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult), first
        assert first.request_state
        (key, request), *_ = first.input_requests.items()
        assert isinstance(request, types.ElicitRequest)
        with pytest.raises(Exception) as forged:
            await client.session.call_tool(
                "old__ask",
                {},
                request_state="msplex1.forged",
                input_responses={key: {"action": "cancel"}},
                allow_input_required=True,
            )
        assert getattr(forged.value, "code", None) == types.INVALID_PARAMS
        answer = types.ElicitResult(action="accept", content={"colour": "red"})
        done = await client.session.call_tool(
            "old__ask",
            {},
            request_state=first.request_state,
            input_responses={key: answer},
            allow_input_required=True,
        )
    assert isinstance(done, types.CallToolResult)
    assert text_of(done) == "accept:red"
