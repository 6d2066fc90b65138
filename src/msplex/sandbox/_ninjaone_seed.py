"""The NinjaOne fake's starting data: two organizations, 60 devices (52 Acme, 8 Globex), alerts, activities, tickets.

Times are epoch seconds (floats), as NinjaOne's are. The store is ``kind -> id -> record``;
private keys start with ``_`` and never leave the fake.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACME", "GLOBEX", "STATUSES", "Record", "Store", "seed"]

Record = dict[str, Any]
Store = dict[str, dict[Any, Record]]
ACME = 1
GLOBEX = 2
_T0 = 1_793_000_000.0  # 2026-10-26
_CLASSES = ("WINDOWS_WORKSTATION", "WINDOWS_WORKSTATION", "WINDOWS_SERVER", "MAC", "LINUX_SERVER")
STATUSES = (
    {"name": "NEW", "displayName": "New", "statusId": 1000},
    {"name": "OPEN", "displayName": "Open", "statusId": 2000},
    {"name": "WAITING", "displayName": "Waiting", "statusId": 3000},
    {"name": "PAUSED", "displayName": "Paused", "statusId": 4000},
    {"name": "RESOLVED", "displayName": "Resolved", "statusId": 5000},
    {"name": "CLOSED", "displayName": "Closed", "statusId": 6000},
)


def seed() -> Store:
    organizations = {
        ACME: {
            "id": ACME,
            "name": "Acme Corporation",
            "description": "Managed since 2019",
            "nodeApprovalMode": "AUTOMATIC",
            "tags": [],
            "fields": {},
        },
        GLOBEX: {
            "id": GLOBEX,
            "name": "Globex Ltd",
            "description": "",
            "nodeApprovalMode": "MANUAL",
            "tags": ["vip"],
            "fields": {},
        },
    }
    locations = {
        10: {"id": 10, "organizationId": ACME, "name": "Main", "address": "1 Main St", "description": ""},
        11: {"id": 11, "organizationId": ACME, "name": "Warehouse", "address": "9 Dock Rd", "description": ""},
        20: {"id": 20, "organizationId": GLOBEX, "name": "HQ", "address": "1 Globex Way", "description": ""},
    }
    devices = {n: _device(n) for n in range(1, 61)}
    alerts: dict[Any, Record] = {}
    activities: dict[Any, Record] = {}
    for device in devices.values():
        n = device["id"]
        if n % 10 == 0 or n > 57:
            uid = f"7c1f0000-0000-4000-8000-{n:012d}"
            alerts[uid] = {
                "uid": uid,
                "deviceId": n,
                "message": f"Disk C: is 95% full on {device['systemName']}",
                "createTime": _T0 + n * 60,
                "updateTime": _T0 + n * 60,
                "sourceType": "CONDITION_DISK_USAGE",
                "sourceConfigUid": "cfg-disk",
                "severity": "MAJOR",
                "priority": "HIGH",
                "statusCode": "TRIGGERED",
            }
        for k in range(3):
            aid = n * 10 + k
            activities[aid] = {
                "id": aid,
                "activityTime": _T0 + n * 60 + k,
                "deviceId": n,
                "severity": "MINOR",
                "priority": "NONE",
                "activityType": "CONDITION" if k else "SYSTEM",
                "statusCode": "TRIGGERED" if k else "NODE_AUTHENTICATED",
                "status": "Triggered",
                "sourceName": "Disk usage",
                "subject": f"activity {k} of {device['systemName']}",
                "message": "condition triggered" if k else "device authenticated",
                "type": "Action",
            }
    tickets = {
        **{
            100 + n: _ticket(100 + n, ACME, 10, 1 + n, f"Acme: workstation {n + 1} slow", STATUSES[n % 6])
            for n in range(30)
        },
        **{200 + n: _ticket(200 + n, GLOBEX, 20, 53 + n, f"Globex: VPN {n + 1}", STATUSES[1]) for n in range(3)},
    }
    comments = {
        1: {
            "id": 1,
            "_ticketId": 100,
            "type": "COMMENT",
            "body": "Rebooted; monitoring.",
            "htmlBody": "<p>Rebooted</p>",
            "publicEntry": False,
            "createTime": _T0,
            "timeTracked": 300,
            "appUserContactUid": "tech-1",
        },
    }
    end_users = {
        1: {
            "id": 1,
            "uid": "eu-wile",
            "firstName": "Wile",
            "lastName": "Coyote",
            "email": "wile@acme.example",
            "phone": "555-0101",
            "organizationId": ACME,
            "userType": "END_USER",
        },
        2: {
            "id": 2,
            "uid": "eu-hank",
            "firstName": "Hank",
            "lastName": "Scorpio",
            "email": "hank@globex.example",
            "phone": "555-0199",
            "organizationId": GLOBEX,
            "userType": "END_USER",
        },
    }
    boards = {
        1: {"id": 1, "name": "All tickets", "description": "Every ticket", "system": True},
        2: {"id": 2, "name": "Open tickets", "description": "Not closed", "system": True},
    }
    return {
        "organizations": organizations,
        "locations": locations,
        "devices": devices,
        "alerts": alerts,
        "activities": activities,
        "tickets": tickets,
        "comments": comments,
        "end_users": end_users,
        "boards": boards,
    }


def _device(n: int) -> Record:
    org = ACME if n <= 52 else GLOBEX
    kind = _CLASSES[n % len(_CLASSES)]
    prefix = "ACME" if org == ACME else "GLOBEX"
    name = f"{prefix}-{'SRV' if 'SERVER' in kind else 'WS'}-{n:02d}"
    return {
        "id": n,
        "organizationId": org,
        "locationId": (10 if n % 2 else 11) if org == ACME else 20,
        "nodeClass": kind,
        "nodeRoleId": 100 + _CLASSES.index(kind),
        "rolePolicyId": 200,
        "policyId": 300 if org == ACME else 301,
        "approvalStatus": "PENDING" if n in {7, 55} else "APPROVED",
        "offline": n % 9 == 0,
        "displayName": name,
        "systemName": name,
        "dnsName": f"{name.lower()}.corp.example",
        "created": _T0 - 86400 * (60 - n),
        "lastContact": _T0 + 3600,
        "lastUpdate": _T0 + 3600,
        "tags": [],
        "fields": {},
        "_detail": {
            "os": {"name": "Windows 11 Pro" if "WINDOWS" in kind else kind.title(), "architecture": "64-bit"},
            "system": {"manufacturer": "Dell Inc.", "model": "OptiPlex 7090", "serialNumber": f"SN{n:05d}"},
            "lastLoggedInUser": f"CORP\\user{n}",
        },
        "_software": [
            {
                "name": "Google Chrome",
                "publisher": "Google LLC",
                "version": "131.0.6778.86",
                "installDate": "2026-10-01",
            },
            {"name": "7-Zip", "publisher": "Igor Pavlov", "version": "24.08", "installDate": "2026-09-12"},
        ],
        "_patches": [
            {
                "id": f"kb-{n}",
                "name": "2026-11 Cumulative Update",
                "kbNumber": "KB5046617",
                "severity": "CRITICAL",
                "status": "PENDING" if n % 2 else "INSTALLED",
                "type": "SECURITY_UPDATES",
                "timestamp": _T0,
            }
        ],
        "_disks": [
            {
                "model": "NVMe SSD",
                "size": 512_110_190_592,
                "interface": "SCSI",
                "status": "OK",
                "partitionCount": 3,
                "mediaType": "SSD",
            }
        ],
        "_health": {
            "healthStatus": "UNHEALTHY" if n % 10 == 0 else "HEALTHY",
            "pendingRebootReason": None,
            "failedOSPatchesCount": 0,
            "activeThreatsCount": 0,
            "productsInstallationStatuses": {},
        },
    }


def _ticket(tid: int, org: int, location: int, node: int, subject: str, status: Record) -> Record:
    return {
        "id": tid,
        "version": 1,
        "clientId": org,
        "ticketFormId": 1,
        "locationId": location,
        "nodeId": node,
        "subject": subject,
        "status": dict(status),
        "type": "PROBLEM",
        "priority": "MEDIUM",
        "severity": "MINOR",
        "tags": [],
        "createTime": _T0 + tid,
        "requesterUid": "eu-wile" if org == ACME else "eu-hank",
        "assignedAppUserId": None,
        "description": {"body": subject, "htmlBody": f"<p>{subject}</p>", "public": True},
    }
