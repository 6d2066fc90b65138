"""``msplex client-config``: a ready-to-paste configuration for one MCP client, in one command.

Each shape follows that client's own documentation:

* Claude Desktop (``claude_desktop_config.json``): through ``mcp-remote`` with
  ``--transport http-only`` and the ``Authorization`` header built from an
  environment variable (``Authorization:${AUTH_HEADER}``, no space: some launchers
  split arguments on spaces).
* Claude Code: ``claude mcp add --transport http NAME URL --header ...``.
* VS Code (``.vscode/mcp.json``): ``servers`` with ``type: "http"`` and ``headers``,
  the token asked for by an ``inputs`` password prompt (so it is never in the file).
* Cursor (``~/.cursor/mcp.json``): ``url`` and ``headers`` with ``${env:MSPLEX_TOKEN}``.
"""

from __future__ import annotations

import json
import shlex
from typing import Annotated, Any

import typer

from msplex.cli._run import CliError, msplex_command, run_with_store
from msplex.cli._typer import TenantOpt
from msplex.settings import Settings
from msplex.store import Store

__all__ = ["CLIENTS", "client_config", "render"]

CLIENTS = ("claude-desktop", "claude-code", "vscode", "cursor")
PLACEHOLDER = "<token>"


def render(client: str, name: str, url: str, token: str | None) -> str:
    """The configuration (and where it goes) for ``client``; ``token`` ``None`` leaves a placeholder."""
    shown = token or PLACEHOLDER
    if client == "claude-desktop":
        server: dict[str, Any] = {
            "command": "npx",
            "args": ["-y", "mcp-remote", url, "--transport", "http-only", "--header", "Authorization:${AUTH_HEADER}"],
            "env": {"AUTH_HEADER": f"Bearer {shown}"},
        }
        where = "Add to claude_desktop_config.json (Settings > Developer > Edit Config), then restart Claude Desktop:"
        return f"{where}\n{json.dumps({'mcpServers': {name: server}}, indent=2)}"
    if client == "claude-code":
        command = [
            "claude",
            "mcp",
            "add",
            "--transport",
            "http",
            name,
            url,
            "--header",
            f"Authorization: Bearer {shown}",
        ]
        return f"Run:\n{shlex.join(command)}"
    if client == "vscode":
        prompt = f"{name}-token"
        document = {
            "inputs": [
                {"type": "promptString", "id": prompt, "description": f"MSPlex token for {name}", "password": True}
            ],
            "servers": {
                name: {"type": "http", "url": url, "headers": {"Authorization": f"Bearer ${{input:{prompt}}}"}}
            },
        }
        asked = f"VS Code asks for the token when it starts the server; paste: {shown}"
        return f"Add to .vscode/mcp.json:\n{json.dumps(document, indent=2)}\n{asked}"
    if client == "cursor":
        document = {"mcpServers": {name: {"url": url, "headers": {"Authorization": "Bearer ${env:MSPLEX_TOKEN}"}}}}
        export = f"export MSPLEX_TOKEN={shlex.quote(shown)}"
        return f"Add to ~/.cursor/mcp.json:\n{json.dumps(document, indent=2)}\nand start Cursor where: {export}"
    raise CliError(f"--client must be one of {', '.join(CLIENTS)}")


def client_config(
    tenant: TenantOpt,
    client: Annotated[str, typer.Option(help=f"One of: {', '.join(CLIENTS)}.", metavar="CLIENT")],
    entity: Annotated[str | None, typer.Option(help="Point at this branded endpoint.", metavar="SLUG")] = None,
    new_token: Annotated[
        str | None, typer.Option(help="Mint a member token with this name and put it in.", metavar="NAME")
    ] = None,
) -> None:
    """Print a ready-to-paste MCP client configuration for a tenant's (or an entity's) endpoint."""
    if client not in CLIENTS:
        raise typer.BadParameter(f"must be one of {', '.join(CLIENTS)}", param_hint="--client")

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant)
        if entity is not None:
            await scope.get_entity(entity)
            url, name = f"{settings.public_url}/mcp/entities/{entity}", entity
        else:
            await store.get_tenant(tenant)
            url, name = f"{settings.public_url}/mcp/v1/{tenant}", f"msplex-{tenant}"
        token = None
        if new_token is not None:
            token, _ = await scope.create_token(new_token)
        typer.echo(render(client, name, url, token))
        if token is None:
            typer.echo(f"Replace {PLACEHOLDER} with a token: {msplex_command(f'token create --tenant {tenant}')}")

    run_with_store(go)
