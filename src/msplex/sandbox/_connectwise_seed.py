"""The ConnectWise fake's starting data: two customers (Acme, Globex), Acme's tickets spanning two pages of 25.

Records carry Manage's shapes: references are ``{id, name}`` / ``{id, identifier, name}`` objects,
audit fields sit under ``_info``. The store is ``collection -> id -> record``; child collections
(notes, tasks, sites, statuses, types) name their parent in a field (``PARENTS``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACME", "GLOBEX", "PARENTS", "Record", "Store", "seed"]

Record = dict[str, Any]
Store = dict[str, dict[int, Record]]

ACME = 250
GLOBEX = 251
PARENTS: dict[str, tuple[str, str]] = {
    "company/sites": ("company/companies", "company/id"),
    "service/statuses": ("service/boards", "board/id"),
    "service/types": ("service/boards", "board/id"),
    "service/notes": ("service/tickets", "ticketId"),
    "service/tasks": ("service/tickets", "ticketId"),
}
"""child collection -> (parent collection, the child's field holding the parent id)."""

_T0 = "2026-11-02T09:00:00Z"


def _info(when: str = _T0) -> Record:
    return {"lastUpdated": when, "updatedBy": "msplex-api", "dateEntered": when, "enteredBy": "msplex-api"}


def ref(record: Record, *keys: str) -> Record:
    """A Manage reference object to ``record`` (``id`` plus the naming ``keys`` it has)."""
    return {"id": record["id"], **{k: record[k] for k in keys if k in record}}


def seed() -> Store:
    members = {
        140: {"id": 140, "identifier": "jdoe", "name": "Jane Doe", "firstName": "Jane", "lastName": "Doe"},
        141: {"id": 141, "identifier": "rroe", "name": "Rick Roe", "firstName": "Rick", "lastName": "Roe"},
    }
    companies = {
        ACME: {"id": ACME, "identifier": "AcmeCorp", "name": "Acme Corporation", "city": "Springfield"},
        GLOBEX: {"id": GLOBEX, "identifier": "Globex", "name": 'Globex "Intl" Ltd', "city": "Cypress Creek"},
    }
    for company in companies.values():
        company.update(status={"id": 1, "name": "Active"}, deletedFlag=False, _info=_info())
    sites = {
        1: {"id": 1, "name": "Main", "company": ref(companies[ACME], "identifier", "name"), "city": "Springfield"},
        2: {"id": 2, "name": "Warehouse", "company": ref(companies[ACME], "identifier", "name"), "city": "Shelbyville"},
        3: {"id": 3, "name": "HQ", "company": ref(companies[GLOBEX], "identifier", "name"), "city": "Cypress Creek"},
    }
    contacts = {
        10: _contact(10, "Wile", "Coyote", companies[ACME]),
        11: _contact(11, "Road", "Runner", companies[ACME]),
        12: _contact(12, "Hank", "Scorpio", companies[GLOBEX]),
    }
    boards: dict[int, Record] = {1: {"id": 1, "name": "Help Desk"}, 2: {"id": 2, "name": "Projects Board"}}
    statuses: dict[int, Record] = {}
    types: dict[int, Record] = {}
    for board in boards.values():
        for offset, (name, closed, default) in enumerate(
            (
                ("New", False, True),
                ("In Progress", False, False),
                ("Waiting Customer", False, False),
                ("Closed", True, False),
            )
        ):
            sid = board["id"] * 10 + offset
            statuses[sid] = {
                "id": sid,
                "name": name,
                "board": ref(board, "name"),
                "closedStatus": closed,
                "defaultFlag": default,
            }
        for offset, name in enumerate(("Incident", "Service Request")):
            tid = board["id"] * 10 + offset
            types[tid] = {"id": tid, "name": name, "board": ref(board, "name")}
    for record in (*boards.values(), *statuses.values(), *types.values()):
        record["_info"] = _info()
    priorities = {
        n: {"id": n, "name": name, "sortOrder": n, "_info": _info()}
        for n, name in ((1, "Priority 1 - Critical"), (2, "Priority 2 - High"), (3, "Priority 3 - Normal"))
    }
    tickets: dict[int, Record] = {}
    for n in range(30):
        tid = 1000 + n
        tickets[tid] = _ticket(
            tid,
            f"Acme issue {n + 1}: printer offline" if n % 3 else f"Acme VPN drop {n + 1}",
            companies[ACME],
            contacts[10],
            boards[1],
            statuses[10 + (n % 4)],
            priorities[3],
            members[140],
            f"2026-11-{1 + n % 28:02d}T08:00:00Z",
        )
    for n in range(3):
        tid = 2000 + n
        tickets[tid] = _ticket(
            tid,
            f"Globex mail flow {n + 1}",
            companies[GLOBEX],
            contacts[12],
            boards[1],
            statuses[10],
            priorities[2],
            members[141],
            f"2026-11-{3 + n:02d}T10:00:00Z",
        )
    notes = {
        1: _note(1, 1000, "Printer restarted; monitoring.", internal=True),
        2: _note(2, 1000, "We are looking at it.", internal=False),
        3: _note(3, 2000, "Globex MX records checked.", internal=True),
    }
    tasks = {
        1: {"id": 1, "ticketId": 1000, "notes": "Replace toner", "closedFlag": False, "priority": 1, "_info": _info()},
        2: {"id": 2, "ticketId": 2000, "notes": "Check SPF", "closedFlag": True, "priority": 1, "_info": _info()},
    }
    configurations = {
        500: _configuration(500, "ACME-DC01", "Server", companies[ACME]),
        501: _configuration(501, "ACME-WS-17", "Workstation", companies[ACME]),
        502: _configuration(502, "GLOBEX-FW", "Firewall", companies[GLOBEX]),
    }
    entries = {
        700: _time(700, tickets[1000], members[140], "2026-11-02T09:00:00Z", 1.5, "Diagnosed printer"),
        701: _time(701, tickets[2000], members[141], "2026-11-03T10:00:00Z", 0.5, "MX review"),
    }
    schedule = {
        800: {
            "id": 800,
            "objectId": 1000,
            "type": {"id": 4, "identifier": "S"},
            "member": ref(members[140], "identifier", "name"),
            "dateStart": "2026-11-05T13:00:00Z",
            "dateEnd": "2026-11-05T14:00:00Z",
            "name": "Acme printer onsite",
            "_info": _info(),
        },
        801: {
            "id": 801,
            "objectId": 2000,
            "type": {"id": 4, "identifier": "S"},
            "member": ref(members[141], "identifier", "name"),
            "dateStart": "2026-11-06T09:00:00Z",
            "dateEnd": "2026-11-06T10:00:00Z",
            "name": "Globex mail review",
            "_info": _info(),
        },
    }
    agreements = {
        300: _agreement(300, "Acme Managed Services", companies[ACME], 2500.0),
        301: _agreement(301, "Globex Block Hours", companies[GLOBEX], 900.0),
    }
    invoices = {
        900: _invoice(900, "INV-900", companies[ACME], 2500.0),
        901: _invoice(901, "INV-901", companies[GLOBEX], 900.0),
    }
    projects = {
        600: {
            "id": 600,
            "name": "Acme server refresh",
            "company": ref(companies[ACME], "identifier", "name"),
            "status": {"id": 1, "name": "Open"},
            "_info": _info(),
        },
        601: {
            "id": 601,
            "name": "Globex M365 migration",
            "company": ref(companies[GLOBEX], "identifier", "name"),
            "status": {"id": 1, "name": "Open"},
            "_info": _info(),
        },
    }
    articles = {
        50: {
            "id": 50,
            "title": "Resetting the office printer",
            "issue": "Printer offline",
            "resolution": "Power cycle",
            "company": ref(companies[ACME], "identifier", "name"),
            "_info": _info(),
        },
        51: {
            "id": 51,
            "title": "Checking mail flow",
            "issue": "Mail delayed",
            "resolution": "Check MX and SPF",
            "company": ref(companies[GLOBEX], "identifier", "name"),
            "_info": _info(),
        },
    }
    return {
        "system/members": members,
        "company/companies": companies,
        "company/sites": sites,
        "company/contacts": contacts,
        "company/configurations": configurations,
        "service/boards": boards,
        "service/statuses": statuses,
        "service/types": types,
        "service/priorities": priorities,
        "service/tickets": tickets,
        "service/notes": notes,
        "service/tasks": tasks,
        "service/knowledgeBaseArticles": articles,
        "time/entries": entries,
        "schedule/entries": schedule,
        "finance/agreements": agreements,
        "finance/invoices": invoices,
        "project/projects": projects,
    }


def _contact(cid: int, first: str, last: str, company: Record) -> Record:
    return {
        "id": cid,
        "firstName": first,
        "lastName": last,
        "company": ref(company, "identifier", "name"),
        "communicationItems": [
            {
                "type": {"id": 1, "name": "Email"},
                "value": f"{first.lower()}@example.com",
                "defaultFlag": True,
                "communicationType": "Email",
            }
        ],
        "inactiveFlag": False,
        "_info": _info(),
    }


def _ticket(
    tid: int,
    summary: str,
    company: Record,
    contact: Record,
    board: Record,
    status: Record,
    priority: Record,
    owner: Record,
    when: str,
) -> Record:
    return {
        "id": tid,
        "summary": summary,
        "recordType": "ServiceTicket",
        "board": ref(board, "name"),
        "status": ref(status, "name"),
        "company": ref(company, "identifier", "name"),
        "contact": {"id": contact["id"], "name": f"{contact['firstName']} {contact['lastName']}"},
        "priority": ref(priority, "name", "sort"),
        "owner": ref(owner, "identifier", "name"),
        "closedFlag": bool(status.get("closedStatus")),
        "initialDescription": f"{summary} (reported by {contact['firstName']})",
        "_info": _info(when),
    }


def _note(nid: int, ticket: int, text: str, *, internal: bool) -> Record:
    return {
        "id": nid,
        "ticketId": ticket,
        "text": text,
        "detailDescriptionFlag": not internal,
        "internalAnalysisFlag": internal,
        "resolutionFlag": False,
        "customerUpdatedFlag": False,
        "dateCreated": _T0,
        "createdBy": "jdoe",
        "_info": _info(),
    }


def _configuration(cid: int, name: str, kind: str, company: Record) -> Record:
    return {
        "id": cid,
        "name": name,
        "type": {"id": 1, "name": kind},
        "company": ref(company, "identifier", "name"),
        "status": {"id": 1, "name": "Active"},
        "activeFlag": True,
        "_info": _info(),
    }


def _time(eid: int, ticket: Record, member: Record, start: str, hours: float, notes: str) -> Record:
    return {
        "id": eid,
        "company": dict(ticket["company"]),
        "chargeToId": ticket["id"],
        "chargeToType": "ServiceTicket",
        "member": ref(member, "identifier", "name"),
        "timeStart": start,
        "actualHours": hours,
        "notes": notes,
        "billableOption": "Billable",
        "_info": _info(start),
    }


def _agreement(aid: int, name: str, company: Record, amount: float) -> Record:
    return {
        "id": aid,
        "name": name,
        "type": {"id": 1, "name": "Managed Services"},
        "company": ref(company, "identifier", "name"),
        "billAmount": amount,
        "agreementStatus": "Active",
        "startDate": "2026-01-01T00:00:00Z",
        "_info": _info(),
    }


def _invoice(iid: int, number: str, company: Record, total: float) -> Record:
    return {
        "id": iid,
        "invoiceNumber": number,
        "company": ref(company, "identifier", "name"),
        "total": total,
        "balance": total,
        "date": "2026-11-01T00:00:00Z",
        "status": {"id": 1, "name": "New"},
        "_info": _info(),
    }
