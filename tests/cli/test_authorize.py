"""``msplex connector authorize``: the authorization-code grant with PKCE through a loopback redirect, against
a token endpoint on 127.0.0.1 that checks the verifier; the tokens land sealed in the vault."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "vault"))

from oauth_fake_support import OAuthFake  # noqa: E402

from support.local_http import serve  # noqa: E402


async def test_a_person_grants_access_and_the_connector_is_ready(msplex_home: Path) -> None:
    fake = OAuthFake()
    env = {
        **os.environ,
        "MSPLEX_HOME": str(msplex_home),
        "MSPLEX_VENDOR_MODULES": "ac_vendor",
        "PYTHONPATH": os.pathsep.join([str(TESTS / "vault"), os.environ.get("PYTHONPATH", "")]),
    }

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "msplex",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    async with serve(fake.app()) as url:
        assert (await run("tenant", "create", "acme"))[0] == 0
        creds = ("--client-id", fake.client_id, "--client-secret", fake.client_secret)
        code, out, err = await run("connect", "acvendor", "-t", "acme", "--base-url", url, *creds)
        assert code == 0, err
        assert "connector authorize acvendor --tenant acme" in out
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "msplex", "connector", "authorize", "acvendor", "-t", "acme", "--no-browser",
            "--wait", "60", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        await proc.stdout.readline()  # "Open this URL ..."
        grant_url = (await proc.stdout.readline()).decode().strip()
        assert grant_url.startswith(f"{url}/oauth/authorize?") and "code_challenge=" in grant_url
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(grant_url)  # consent, then the redirect to the CLI's loopback listener
        assert page.status_code == 200 and "Access granted" in page.text
        rest, err_bytes = await proc.communicate()
        assert proc.returncode == 0, err_bytes.decode()
        assert "-> Gateway session ready" in rest.decode() and "acvendor__me" in rest.decode()
    assert [r["grant_type"] for r in fake.token_requests] == ["authorization_code"]
    assert fake.authorize_requests[0]["code_challenge_method"] == "S256"
    db = (msplex_home / "msplex.db").read_bytes()
    assert not any(token.encode() in db for token in fake.access)  # the tokens are sealed
