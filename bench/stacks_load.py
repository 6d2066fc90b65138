"""Load for ``bench.stacks`` part 1: N POSTs over 8 keep-alive connections (MSPlex's own client)."""

from __future__ import annotations

import sys

import uvloop

from bench.stacks import BODY, HEADERS, _drive
from msplex.upstream._http1 import Client


async def _main(url: str, n: int) -> None:
    client = Client()

    async def post() -> None:
        async with client.post(url, data=BODY, headers=HEADERS) as response:
            await response.read()

    await _drive(post, n)
    await client.close()


if __name__ == "__main__":
    uvloop.run(_main(sys.argv[1], int(sys.argv[2])))
