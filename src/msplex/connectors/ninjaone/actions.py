"""NinjaOne device actions: reboot, Windows service control, OS patch apply. Each reaches a customer's machine,
so each is annotated destructive (the default policy asks a person first) and checks the device's
organization before anything is sent. Script runs are not offered: NinjaOne refuses them to client
credentials tokens, and the vault has no user-context (authorization code) grant for this connector yet.
"""

from __future__ import annotations

from urllib.parse import quote

from msplex.connectors.framework import JSON, Effects, ToolContext, ToolSpec, When
from msplex.connectors.framework.schema import params
from msplex.connectors.ninjaone import _schemas as s
from msplex.connectors.ninjaone._api import own_device

__all__ = ["TOOLS"]

_DONE: JSON = {
    "type": "object",
    "properties": {"device_id": {"type": "integer"}, "action": {"type": "string"}},
    "required": ["device_id", "action"],
}
_DEVICE = {"device_id": {**s.ID, "description": "The NinjaOne device id (list_devices)."}}


async def _reboot(ctx: ToolContext, args: JSON) -> JSON:
    device = await own_device(ctx, args["device_id"])
    mode = args.get("mode", "NORMAL")
    await ctx.http.post(f"v2/device/{device['id']}/reboot/{mode}", json={"reason": args.get("reason") or ""})
    return {"device_id": device["id"], "action": f"reboot {mode}"}


async def _service(ctx: ToolContext, args: JSON) -> JSON:
    device = await own_device(ctx, args["device_id"])
    name, verb = args["service_name"], args["action"]
    await ctx.http.post(f"v2/device/{device['id']}/windows-service/{quote(name, safe='')}/{verb}")
    return {"device_id": device["id"], "action": f"{verb} service {name}"}


async def _patch(ctx: ToolContext, args: JSON) -> JSON:
    device = await own_device(ctx, args["device_id"])
    await ctx.http.post(f"v2/device/{device['id']}/patch/os/apply")
    return {"device_id": device["id"], "action": "apply OS patches"}


TOOLS = (
    ToolSpec(
        name="reboot_device",
        title="Reboot a NinjaOne device",
        description=(
            "Reboot a device now (NORMAL lets users save; FORCED does not). Interrupts whoever is using it. "
            "Needs a person's approval."
        ),
        input_schema=params(
            "device_id",
            **_DEVICE,
            mode={"type": "string", "enum": ["NORMAL", "FORCED"], "default": "NORMAL"},
            reason={"type": "string", "maxLength": 500},
        ),
        output_schema=_DONE,
        handler=_reboot,
        read_only=False,
        destructive=True,
        effects=Effects(client_visible=When()),
    ),
    ToolSpec(
        name="control_windows_service",
        title="Start, stop or restart a Windows service",
        description=(
            "Start, stop or restart a Windows service (by its service name) on a Windows device. Needs approval."
        ),
        input_schema=params(
            "device_id",
            "service_name",
            "action",
            **_DEVICE,
            service_name={"type": "string", "pattern": "^[A-Za-z0-9_.$ -]{1,256}$"},
            action={"type": "string", "enum": ["start", "stop", "restart"]},
        ),
        output_schema=_DONE,
        handler=_service,
        read_only=False,
        destructive=True,
    ),
    ToolSpec(
        name="apply_os_patches",
        title="Apply pending OS patches",
        description=(
            "Install a device's pending OS patches now (it may reboot per its policy). Needs a person's approval."
        ),
        input_schema=params("device_id", **_DEVICE),
        output_schema=_DONE,
        handler=_patch,
        read_only=False,
        destructive=True,
        effects=Effects(client_visible=When()),
    ),
)
