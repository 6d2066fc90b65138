"""The incremental SSE parser, fed the way sockets deliver: arbitrary chunk boundaries."""

from __future__ import annotations

import pytest

from msplex.upstream.sse import SSEParser, SSETooLarge

STREAM = (
    b": ping\r\n\r\n"
    b'id: 7\r\nretry: 1500\r\nevent: message\r\ndata: {"a":1}\r\n\r\n'
    b"data: line one\ndata: line two\n\n"
    b'event: message\rdata:{"b":2}\r\r'
)


def _parse(chunks: list[bytes]) -> list[tuple[str, bytes, str | None, int | None]]:
    parser = SSEParser()
    out = []
    for chunk in chunks:
        out += [(e.event, e.data, e.id, e.retry) for e in parser.feed(chunk)]
    return out


EXPECTED = [
    ("message", b'{"a":1}', "7", 1500),
    ("message", b"line one\nline two", "7", 1500),
    ("message", b'{"b":2}', "7", 1500),
]


def test_whole_stream() -> None:
    assert _parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11])
def test_any_chunking_gives_the_same_events(size: int) -> None:
    assert _parse([STREAM[i : i + size] for i in range(0, len(STREAM), size)]) == EXPECTED


def test_incomplete_event_is_held_back() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"x"') == []
    assert parser.feed(b":1}\n") == []
    assert [e.data for e in parser.feed(b"\n")] == [b'{"x":1}']


def test_oversized_event_is_refused() -> None:
    parser = SSEParser(max_event_size=16)
    with pytest.raises(SSETooLarge):
        parser.feed(b"data: " + b"x" * 10 + b"\ndata: " + b"y" * 10 + b"\n")
