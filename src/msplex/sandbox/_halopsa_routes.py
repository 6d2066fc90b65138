"""The HaloPSA fake's resources: filtering, Halo's paging quirk, and the JSON-array writes.

Pure functions over the store (``resource key -> id -> record``), so the
contract lives in one readable place and the HTTP layer only authenticates,
limits and records.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from msplex.sandbox._halopsa_seed import Record, event

__all__ = ["ApiError", "read", "write"]

Store = dict[str, dict[int, Record]]


class ApiError(Exception):
    """An error answer: ``body`` is Halo's (a ``{ClassName, Message}`` object or a bare string)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class _Resource:
    store: str
    key: str | None
    """The list's key in a listing; ``None``: the listing is a bare array, never paged."""
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    noun: str = "record"


_RESOURCES = {
    "tickets": _Resource(
        "tickets",
        "tickets",
        ("client_id", "site_id", "user_id", "agent_id", "status_id", "tickettype_id", "asset_id"),
        ("summary", "details"),
        "Ticket",
    ),
    "actions": _Resource("actions", "actions", ("ticket_id",), ("note",), "Action"),
    "client": _Resource("clients", "clients", (), ("name",), "Client"),
    "site": _Resource("sites", "sites", ("client_id",), ("name",), "Site"),
    "users": _Resource("users", "users", ("client_id", "site_id"), ("name", "emailaddress"), "User"),
    "agent": _Resource("agents", None, (), ("name",), "Agent"),
    "asset": _Resource(
        "assets",
        "assets",
        ("client_id", "site_id", "assettype_id"),
        ("inventory_number", "key_field", "ip_address"),
        "Asset",
    ),
    "kbarticle": _Resource("articles", "articles", (), ("name", "description"), "Article"),
    "clientcontract": _Resource("contracts", "contracts", ("client_id",), ("ref", "contract_description"), "Contract"),
    "invoice": _Resource("invoices", "invoices", ("client_id",), ("invoicenumber",), "Invoice"),
    "status": _Resource("statuses", None),
    "tickettype": _Resource("tickettypes", None),
    "category": _Resource("categories", None, ("type_id",)),
    "outcome": _Resource("outcomes", None),
    "timesheetevent": _Resource("timesheetevents", None, ("agent_id",)),
}


def read(store: Store, resource: str, rid: str | None, query: Mapping[str, str], page_size: int) -> Any:
    if resource == "timesheet":
        return _timesheet(store, query)
    spec = _RESOURCES.get(resource)
    if spec is None:
        raise ApiError(404, {"Message": f"No HTTP resource was found for '{resource}'."})
    if rid is not None:
        record = store[spec.store].get(_int(rid, "id"))
        if record is None:
            raise ApiError(404, f"{spec.noun} {rid} not found")
        return copy.deepcopy(record)
    rows = [r for r in store[spec.store].values() if _matches(r, spec, query, store)]
    rows.sort(key=lambda r: r["id"], reverse=_true(query.get("orderdesc")))
    if spec.key is None:
        return copy.deepcopy(rows)
    body: dict[str, Any] = {"record_count": len(rows)}
    if _true(query.get("pageinate")):
        page_no = _int(query["page_no"], "page_no") if "page_no" in query else None
        # Halo's quirk: page_size counts only together with page_no; otherwise the default page.
        size = _int(query["page_size"], "page_size") if page_no is not None and "page_size" in query else page_size
        page_no = page_no or 1
        body.update(page_no=page_no, page_size=size)
        rows = rows[(page_no - 1) * size : page_no * size]
    elif (count := query.get("count", "")).isdigit():
        rows = rows[: int(count)]
    body[spec.key] = copy.deepcopy(rows)
    return body


def write(store: Store, resource: str, body: Any) -> Any:
    if resource not in ("tickets", "actions"):
        raise ApiError(405, {"Message": f"The requested resource '{resource}' does not support http method 'POST'."})
    if not isinstance(body, list) or not body or not all(isinstance(e, dict) for e in body):
        raise ApiError(400, {"ClassName": "HaloApiException", "Message": "The request body must be a JSON array."})
    saved = [_save_ticket(store, e) if resource == "tickets" else _save_action(store, e) for e in body]
    return saved[0] if len(saved) == 1 else saved


def _matches(record: Record, spec: _Resource, query: Mapping[str, str], store: Store) -> bool:
    for name in spec.filters:
        if (wanted := query.get(name)) and record.get(name) != _int(wanted, name):
            return False
    term = query.get("search", "").strip().lower()
    if term and not any(term in str(record.get(f, "")).lower() for f in spec.search):
        return False
    if spec.store == "tickets":
        closed = store["statuses"][record["status_id"]]["type"] == "closed"
        if (_true(query.get("open_only")) and closed) or (_true(query.get("closed_only")) and not closed):
            return False
    if spec.store == "timesheetevents":
        start, end = query.get("start_date", ""), query.get("end_date", "")
        if (start and record["start_date"] < start) or (end and record["start_date"] > end):
            return False
    return not (spec.store in ("clients", "users", "assets") and record.get("inactive") and not _inactive(query))


def _inactive(query: Mapping[str, str]) -> bool:
    return _true(query.get("includeinactive"))


def _timesheet(store: Store, query: Mapping[str, str]) -> list[Record]:
    """One row per agent and day with events, the way Halo's timesheet view rolls action time up."""
    agents = {_int(a, "agent_id") for a in (query.get("agent_id") or "").split(",") if a} or set(store["agents"])
    start, end = query.get("start_date", ""), query.get("end_date", "")
    days: dict[tuple[int, str], list[Record]] = {}
    for ev in store["timesheetevents"].values():
        day = ev["start_date"][:10]
        if ev["agent_id"] in agents and (not start or day >= start[:10]) and (not end or day <= end[:10]):
            days.setdefault((ev["agent_id"], day), []).append(ev)
    return [
        {
            "agent_id": agent,
            "agent_name": store["agents"][agent]["name"],
            "date": day,
            "target_hours": 8.0,
            "actual_hours": sum(e["timetaken"] for e in events),
            "events": copy.deepcopy(events),
        }
        for (agent, day), events in sorted(days.items())
    ]


def _save_ticket(store: Store, element: dict[str, Any]) -> Record:
    tickets = store["tickets"]
    if "id" in element:
        stored = tickets.get(_int(element["id"], "id"))
        if stored is None:
            raise ApiError(404, f"Ticket {element['id']} not found")
        ticket = copy.deepcopy(stored)
        changes = {k: v for k, v in element.items() if k != "id"}
    else:
        if not str(element.get("summary", "")).strip():
            raise ApiError(400, {"ClassName": "HaloValidationException", "Message": "Summary is required."})
        ticket = {"id": max(tickets, default=0) + 1, "status_id": 1, "tickettype_id": 1, "details": ""}
        changes = dict(element)
        if "client_id" not in changes:
            raise ApiError(400, {"ClassName": "HaloValidationException", "Message": "A client is required."})
    _check_links(store, ticket, changes)
    ticket.update(changes)
    ticket["lastactiondate"] = "2026-11-30T12:00:00"
    tickets[ticket["id"]] = ticket
    return copy.deepcopy(ticket)


def _check_links(store: Store, ticket: Record, changes: dict[str, Any]) -> None:
    """Ids must exist and agree: a site of the ticket's client, a user of that client (``ticket`` is a
    working copy: nothing is stored unless every check passes)."""
    client_id = _int(changes.get("client_id", ticket.get("client_id")), "client_id")
    client = store["clients"].get(client_id)
    if client is None:
        raise ApiError(400, f"Client {client_id} does not exist")
    ticket["client_name"] = client["name"]
    for name, table, label in (("site_id", "sites", "Site"), ("user_id", "users", "User")):
        if name not in changes and name not in ticket:
            continue
        linked = store[table].get(_int(changes.get(name, ticket.get(name)), name))
        if linked is None or linked["client_id"] != client_id:
            raise ApiError(
                400, {"ClassName": "HaloValidationException", "Message": f"{label} is not valid for the client."}
            )
        ticket[f"{name[:-3]}_name"] = linked["name"]
    for name, table in (("status_id", "statuses"), ("tickettype_id", "tickettypes"), ("agent_id", "agents")):
        if name in changes and _int(changes[name], name) not in store[table]:
            raise ApiError(400, {"ClassName": "HaloValidationException", "Message": f"{name} is not valid."})


def _save_action(store: Store, element: dict[str, Any]) -> Record:
    if "id" in element:
        raise ApiError(400, {"ClassName": "HaloApiException", "Message": "Actions cannot be edited through the API."})
    ticket = store["tickets"].get(_int(element.get("ticket_id"), "ticket_id"))
    if ticket is None:
        raise ApiError(400, f"Ticket {element.get('ticket_id')} does not exist")
    outcome = _outcome(store, element)
    new_status = element.get("new_status")
    if new_status is not None and _int(new_status, "new_status") not in store["statuses"]:
        raise ApiError(400, {"ClassName": "HaloValidationException", "Message": "new_status is not valid."})
    actions = store["actions"]
    note = str(element.get("note") or element.get("note_html") or "")
    action: Record = {
        "id": max(actions, default=0) + 1,
        "ticket_id": ticket["id"],
        "outcome": outcome["outcome"],
        "outcome_id": outcome["id"],
        "note": note,
        "note_html": str(element.get("note_html") or f"<p>{note}</p>"),
        "hiddenfromuser": bool(element.get("hiddenfromuser", outcome["hiddenfromuser"])),
        "sendemail": bool(element.get("sendemail", False)),
        "emailto": str(element.get("emailto") or ""),
        "who": "API",
        "who_agentid": _int(element.get("agent_id", 1), "agent_id"),
        "datetime": "2026-11-30T12:00:00",
        "timetaken": float(element.get("timetaken") or 0),
        "nonbilltime": float(element.get("nonbilltime") or 0),
    }
    actions[action["id"]] = action
    if new_status is not None:
        ticket["status_id"] = int(new_status)
    ticket["lastactiondate"] = action["datetime"]
    if action["timetaken"]:
        events = store["timesheetevents"]
        eid = max(events, default=0) + 1
        events[eid] = event(eid, action, ticket["client_id"])
    return copy.deepcopy(action)


def _outcome(store: Store, element: dict[str, Any]) -> Record:
    if element.get("outcome_id") is not None:
        found = store["outcomes"].get(_int(element["outcome_id"], "outcome_id"))
    else:
        name = str(element.get("outcome") or "").strip().lower()
        found = next((o for o in store["outcomes"].values() if o["outcome"].lower() == name), None) if name else None
        if not name:
            raise ApiError(400, {"ClassName": "HaloValidationException", "Message": "Please select an outcome."})
    if found is None:
        raise ApiError(400, {"ClassName": "HaloValidationException", "Message": "The outcome is not valid."})
    return found


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(
            400, {"ClassName": "HaloApiException", "Message": f"The value '{value}' is not valid for {name}."}
        ) from None


def _true(value: str | None) -> bool:
    return (value or "").lower() == "true"
