"""NinjaOne with a person's access (kind ``ninjaone-user``): the same tools, plus ``run_script``, which NinjaOne
refuses to client-credentials tokens. Auth: a "Web" API application's authorization code with PKCE and
``offline_access`` (``msplex connect ninjaone-user ...`` then ``msplex connector authorize``); the vault
keeps the refresh token sealed and spends a rotating one exactly once. The script runs with that
person's NinjaOne permissions, so an instance is best tied to a dedicated technician account.
"""

from __future__ import annotations

import dataclasses

from msplex.connectors.framework import JSON, AuthorizationCode, Flag, ToolContext, ToolSpec
from msplex.connectors.framework.schema import params
from msplex.connectors.ninjaone import VENDOR as _CLIENT_CREDENTIALS
from msplex.connectors.ninjaone import _schemas as s
from msplex.connectors.ninjaone._api import own_device

__all__ = ["SCOPE", "VENDOR"]

SCOPE = "monitoring management offline_access"


async def _run_script(ctx: ToolContext, args: JSON) -> JSON:
    device = await own_device(ctx, args["device_id"])
    body: JSON = {"type": args.get("type", "SCRIPT"), "runAs": args.get("run_as", "system")}
    for arg, key in (("script_id", "id"), ("action_uid", "uid"), ("parameters", "parameters")):
        if args.get(arg) not in (None, ""):
            body[key] = args[arg]
    await ctx.http.post(f"v2/device/{device['id']}/script/run", json=body)
    return {"device_id": device["id"], "action": f"run {body['type'].lower()} {body.get('id', body.get('uid'))}"}


RUN_SCRIPT = ToolSpec(
    name="run_script",
    title="Run a script on a NinjaOne device",
    description=(
        "Run a script from the NinjaOne library (type SCRIPT with script_id) or a built-in action (type ACTION "
        "with action_uid) on a device, as system or the logged-in user. Remote execution on a customer's "
        "machine: needs a person's approval."
    ),
    input_schema=params(
        "device_id",
        device_id={**s.ID, "description": "The NinjaOne device id (list_devices)."},
        type={"type": "string", "enum": ["SCRIPT", "ACTION"], "default": "SCRIPT"},
        script_id={**s.ID, "description": "The library script's id (type SCRIPT)."},
        action_uid={"type": "string", "pattern": "^[0-9a-fA-F-]{36}$", "description": "The action's uid (ACTION)."},
        parameters={"type": "string", "maxLength": 2000, "description": "The script's parameters, as one string."},
        run_as={"type": "string", "enum": ["system", "loggedonuser"], "default": "system"},
    ),
    output_schema={
        "type": "object",
        "properties": {"device_id": {"type": "integer"}, "action": {"type": "string"}},
        "required": ["device_id", "action"],
    },
    handler=_run_script,
    read_only=False,
    destructive=True,
)

VENDOR = dataclasses.replace(
    _CLIENT_CREDENTIALS,
    kind="ninjaone-user",
    title="NinjaOne (user context)",
    credential=AuthorizationCode(
        authorize_url=lambda config: f"{config.base_url.rstrip('/')}/ws/oauth/authorize",
        token_url=lambda config: f"{config.base_url.rstrip('/')}/ws/oauth/token",
        scope=SCOPE,
    ),
    flags=(
        Flag("client_id", "--client-id", "the Web application's client id", env="NINJAONE_CLIENT_ID"),
        Flag(
            "client_secret",
            "--client-secret",
            "the Web application's client secret",
            secret=True,
            env="NINJAONE_CLIENT_SECRET",
        ),
    ),
    tools=(*_CLIENT_CREDENTIALS.tools, RUN_SCRIPT),
)
