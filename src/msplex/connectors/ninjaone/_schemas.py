"""JSON schemas of the NinjaOne records the tools return (the fields each keeps) and of shared inputs."""

from __future__ import annotations

from msplex.connectors.framework import JSON
from msplex.connectors.framework.schema import record

__all__ = [
    "ACTIVITY",
    "ALERT",
    "BOARD",
    "DEVICE",
    "DEVICE_DETAIL",
    "END_USER",
    "ID",
    "LOCATION",
    "LOG_ENTRY",
    "NODE_CLASSES",
    "ORGANIZATION",
    "ORG_ID",
    "STATUS",
    "TICKET",
    "TICKET_ROW",
]

ID: JSON = {"type": "integer", "minimum": 1}
ORG_ID: JSON = {
    **ID,
    "description": "The NinjaOne organization (list_organizations); a customer-bound call may omit it.",
}
NODE_CLASSES = [
    "WINDOWS_SERVER", "WINDOWS_WORKSTATION", "LINUX_WORKSTATION", "MAC", "ANDROID", "APPLE_IOS", "APPLE_IPADOS",
    "VMWARE_VM_HOST", "VMWARE_VM_GUEST", "HYPERV_VMM_HOST", "HYPERV_VMM_GUEST", "LINUX_SERVER", "MAC_SERVER",
    "CLOUD_MONITOR_TARGET", "NMS_SWITCH", "NMS_ROUTER", "NMS_FIREWALL", "NMS_PRINTER", "NMS_OTHER",
]  # fmt: skip

ORGANIZATION = record(id="i", name="s", description="s", nodeApprovalMode="s", tags="a")
LOCATION = record(id="i", organizationId="i", name="s", address="s", description="s")
END_USER = record(id="i", uid="s", organizationId="i", firstName="s", lastName="s", email="s", phone="s", userType="s")
DEVICE = record(
    id="i", organizationId="i", locationId="i", nodeClass="s", approvalStatus="s", offline="b", displayName="s",
    systemName="s", dnsName="s", created="n", lastContact="n", lastUpdate="n", policyId="i", nodeRoleId="i",
)  # fmt: skip
DEVICE_DETAIL = {
    **DEVICE,
    "properties": {
        **DEVICE["properties"],
        **record(os="o", system="o", lastLoggedInUser="s")["properties"],
        **{k: {"type": ["array", "null"]} for k in ("software", "patches", "disks")},
        "health": {"type": ["object", "null"]},
    },
}
ACTIVITY = record(
    id="i", activityTime="n", deviceId="i", severity="s", priority="s", activityType="s", statusCode="s", status="s",
    sourceName="s", subject="s", message="s",
)  # fmt: skip
ALERT = record(
    uid="s", deviceId="i", message="s", createTime="n", updateTime="n", sourceType="s", severity="s", priority="s",
    statusCode="s",
)  # fmt: skip
BOARD = record(id="i", name="s", description="s")
STATUS = record(name="s", displayName="s", statusId="i")
TICKET_ROW = record(
    id="i", summary="s", status="o", clientId="i", organization="s", nodeId="i", priority="s", severity="s",
    createTime="n", requesterUid="s",
)  # fmt: skip
TICKET = record(
    id="i", version="i", clientId="i", ticketFormId="i", locationId="i", nodeId="i", subject="s", status="o",
    type="s", priority="s", severity="s", tags="a", createTime="n", requesterUid="s", assignedAppUserId="i",
    description="o",
)  # fmt: skip
LOG_ENTRY = record(id="i", type="s", body="s", htmlBody="s", publicEntry="b", createTime="n", timeTracked="i")
