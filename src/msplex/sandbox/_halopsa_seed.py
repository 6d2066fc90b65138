"""The HaloPSA sandbox's seed: two customers (clients), their sites, users, assets, tickets, actions,
contracts and invoices, the lookups, and an MSP-wide knowledge base.

Deterministic (no clock, no randomness), so tests can name records. Contoso has
60 tickets: more than Halo's default page of 50, so listing them takes two pages.
Field names follow Halo's JSON (snake_case ids, ``*_name`` companions).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONTOSO", "FABRIKAM", "Record", "event", "seed"]

Record = dict[str, Any]
CONTOSO = 11
FABRIKAM = 12
_CONTOSO_TICKETS = 60
_FABRIKAM_TICKETS = 7

_CLIENTS = {CONTOSO: "Contoso Ltd", FABRIKAM: "Fabrikam Inc"}
_SITES = [(101, CONTOSO, "Contoso HQ"), (102, CONTOSO, "Contoso Warehouse"), (201, FABRIKAM, "Fabrikam Main")]
_USERS = [
    (1001, 101, "Alice Archer", "alice@contoso.example"),
    (1002, 102, "Bob Baker", "bob@contoso.example"),
    (2001, 201, "Carol Chen", "carol@fabrikam.example"),
    (2002, 201, "Dan Dorsey", "dan@fabrikam.example"),
]
_AGENTS = [(1, "Sam Support", "sam@msp.example"), (2, "Tina Tech", "tina@msp.example")]
_STATUSES = [
    (1, "New", "open"),
    (2, "In Progress", "open"),
    (3, "Waiting on Customer", "open"),
    (9, "Closed", "closed"),
]
_TYPES = [(1, "Incident"), (3, "Service Request"), (4, "Problem")]
_CATEGORIES = ["Hardware", "Hardware>Laptop", "Software", "Software>Email", "Network"]
_OUTCOMES = [
    (1, "Private Note", True, False),
    (2, "Email User", False, True),
    (3, "Update", False, False),
    (4, "Resolved", False, True),
]
_ASSETS = [
    (3001, 101, "CON-LT-001", "Laptop", "10.1.0.11"),
    (3002, 101, "CON-LT-002", "Laptop", "10.1.0.12"),
    (3003, 102, "CON-SRV-01", "Server", "10.1.1.5"),
    (3004, 101, "CON-FW-01", "Firewall", "10.1.0.1"),
    (4001, 201, "FAB-LT-001", "Laptop", "10.2.0.11"),
    (4002, 201, "FAB-SRV-01", "Server", "10.2.0.5"),
    (4003, 201, "FAB-NAS-01", "Storage", "10.2.0.9"),
]
_ASSET_TYPES = {"Laptop": 1, "Server": 2, "Firewall": 3, "Storage": 4}
_KB = [
    (1, "Reset a user's MFA", "Open the identity portal, find the user, choose 'Require re-register MFA'."),
    (2, "Onboarding checklist", "Create the account, assign licences, enrol the laptop, send the welcome email."),
    (3, "VPN troubleshooting", "Check the client version, the certificate expiry, then the firewall logs."),
]
_CONTRACTS = [
    (7001, CONTOSO, "CON-MSA-2026", "Managed Services", "2026-01-01", "2026-12-31"),
    (7002, CONTOSO, "CON-BLOCK-40", "Prepaid hours (40 h)", "2026-03-01", "2027-02-28"),
    (7101, FABRIKAM, "FAB-MSA-2026", "Managed Services", "2026-02-01", "2027-01-31"),
]
_INVOICES = [
    (8001, CONTOSO, "INV-1001", "2026-09-30", 2400.0),
    (8002, CONTOSO, "INV-1002", "2026-10-31", 2650.0),
    (8101, FABRIKAM, "INV-2001", "2026-10-31", 1800.0),
]
_SUMMARIES = ["Printer offline", "Password reset", "Email not syncing", "Slow laptop", "VPN drops", "New starter"]


def seed() -> dict[str, dict[int, Record]]:
    """Fresh records per resource key (the fake's store), ids unique per resource."""
    clients = {cid: {"id": cid, "name": name, "inactive": False, "toplevel_id": 1} for cid, name in _CLIENTS.items()}
    sites = {
        sid: {"id": sid, "name": name, "client_id": cid, "client_name": _CLIENTS[cid]} for sid, cid, name in _SITES
    }
    users = {
        uid: {
            "id": uid,
            "name": name,
            "emailaddress": email,
            "site_id": sid,
            "site_name": sites[sid]["name"],
            "client_id": sites[sid]["client_id"],
            "client_name": sites[sid]["client_name"],
            "inactive": False,
        }
        for uid, sid, name, email in _USERS
    }
    tickets: dict[int, Record] = {}
    actions: dict[int, Record] = {}
    for i in range(_CONTOSO_TICKETS + _FABRIKAM_TICKETS):
        contoso = i < _CONTOSO_TICKETS
        tid = 5001 + i if contoso else 6001 + i - _CONTOSO_TICKETS
        user = users[1001 + i % 2] if contoso else users[2001 + i % 2]
        status = _STATUSES[i % len(_STATUSES)]
        day = 1 + i % 28
        tickets[tid] = {
            "id": tid,
            "summary": f"{_SUMMARIES[i % len(_SUMMARIES)]} #{i + 1}",
            "details": f"Reported by {user['name']}.",
            "client_id": user["client_id"],
            "client_name": user["client_name"],
            "site_id": user["site_id"],
            "site_name": user["site_name"],
            "user_id": user["id"],
            "user_name": user["name"],
            "agent_id": _AGENTS[i % 2][0],
            "status_id": status[0],
            "tickettype_id": _TYPES[i % len(_TYPES)][0],
            "priority_id": 1 + i % 4,
            "category_1": _CATEGORIES[i % len(_CATEGORIES)],
            "dateoccurred": f"2026-10-{day:02d}T09:00:00",
            "lastactiondate": f"2026-10-{day:02d}T10:00:00",
        }
    for n, tid in enumerate((5001, 5002, 6001)):
        ticket = tickets[tid]
        actions[90001 + 2 * n] = _action(90001 + 2 * n, ticket, 3, "Looking into it.", hidden=False, hours=0.5)
        actions[90002 + 2 * n] = _action(90002 + 2 * n, ticket, 1, "Checked the logs; nothing yet.", hidden=True)
    assets = {
        aid: {
            "id": aid,
            "inventory_number": tag,
            "key_field": tag,
            "client_id": sites[sid]["client_id"],
            "client_name": sites[sid]["client_name"],
            "site_id": sid,
            "site_name": sites[sid]["name"],
            "assettype_id": _ASSET_TYPES[kind],
            "assettype_name": kind,
            "ip_address": ip,
            "inactive": False,
        }
        for aid, sid, tag, kind, ip in _ASSETS
    }
    return {
        "clients": clients,
        "sites": sites,
        "users": users,
        "agents": {aid: {"id": aid, "name": name, "email": email} for aid, name, email in _AGENTS},
        "statuses": {sid: {"id": sid, "name": name, "type": kind} for sid, name, kind in _STATUSES},
        "tickettypes": {tid: {"id": tid, "name": name} for tid, name in _TYPES},
        "categories": {
            i + 1: {"id": i + 1, "type_id": 1, "value": value, "category_name": value}
            for i, value in enumerate(_CATEGORIES)
        },
        "outcomes": {
            oid: {"id": oid, "outcome": name, "buttonname": name, "hiddenfromuser": hidden, "sendemail": email}
            for oid, name, hidden, email in _OUTCOMES
        },
        "tickets": tickets,
        "actions": actions,
        "assets": assets,
        "articles": {kid: {"id": kid, "name": name, "description": text} for kid, name, text in _KB},
        "contracts": {
            cid: {
                "id": cid,
                "client_id": client,
                "client_name": _CLIENTS[client],
                "ref": ref,
                "contract_description": desc,
                "start_date": start,
                "end_date": end,
                "active": True,
            }
            for cid, client, ref, desc, start, end in _CONTRACTS
        },
        "invoices": {
            iid: {
                "id": iid,
                "client_id": client,
                "client_name": _CLIENTS[client],
                "invoicenumber": number,
                "invoice_date": date,
                "total": total,
                "lines": [{"id": iid * 10, "description": "Managed services", "quantity": 1, "unit_price": total}],
            }
            for iid, client, number, date, total in _INVOICES
        },
        "timesheetevents": {
            i + 1: event(i + 1, action, tickets[action["ticket_id"]]["client_id"])
            for i, action in enumerate(a for a in actions.values() if a["timetaken"])
        },
    }


def _action(aid: int, ticket: Record, outcome_id: int, note: str, *, hidden: bool, hours: float = 0.0) -> Record:
    name = next(o[1] for o in _OUTCOMES if o[0] == outcome_id)
    return {
        "id": aid,
        "ticket_id": ticket["id"],
        "outcome": name,
        "outcome_id": outcome_id,
        "note": note,
        "note_html": f"<p>{note}</p>",
        "hiddenfromuser": hidden,
        "who": _AGENTS[0][1],
        "who_agentid": _AGENTS[0][0],
        "datetime": ticket["lastactiondate"],
        "timetaken": hours,
        "nonbilltime": 0.0,
        "emailto": "",
    }


def event(eid: int, action: Record, client_id: int) -> Record:
    """The timesheet entry an action with time on it produces (Halo books action time to the agent's day)."""
    return {
        "id": eid,
        "agent_id": action["who_agentid"],
        "ticket_id": action["ticket_id"],
        "client_id": client_id,
        "action_number": action["id"],
        "subject": action["note"][:60],
        "start_date": action["datetime"],
        "timetaken": action["timetaken"],
        "event_type": 0,
    }
