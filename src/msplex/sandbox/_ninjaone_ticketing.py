"""The NinjaOne fake's ticketing: boards run with ``lastCursorId``, tickets created and updated, multipart comments.

Pure functions over the store raising ``NinjaError``; ``ninjaone.py`` authenticates and routes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson

from msplex.sandbox._ninjaone_seed import STATUSES, Record, Store

__all__ = ["BOARD_PAGE_SIZE", "NinjaError", "add_comment", "create_ticket", "run_board", "update_ticket"]

BOARD_PAGE_SIZE = 50


class NinjaError(Exception):
    """NinjaOne's error answer ``{resultCode, errorMessage, incidentId}``."""

    def __init__(self, status: int, message: str, code: str = "FAILURE") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _row(store: Store, ticket: Record) -> Record:
    org = store["organizations"].get(ticket["clientId"], {})
    return {
        "id": ticket["id"],
        "summary": ticket["subject"],
        "status": dict(ticket["status"]),
        "clientId": ticket["clientId"],
        "organization": org.get("name"),
        "nodeId": ticket.get("nodeId"),
        "priority": ticket["priority"],
        "severity": ticket["severity"],
        "createTime": ticket["createTime"],
        "requesterUid": ticket.get("requesterUid"),
    }


def run_board(store: Store, board_id: int, body: Any) -> Record:
    """One page of a board: rows after ``lastCursorId`` (ids ascending), and the cursor to continue from."""
    if board_id not in store["boards"]:
        raise NinjaError(404, f"Board {board_id} not found")
    body = body or {}
    if not isinstance(body, dict):
        raise NinjaError(400, "The board run body must be a JSON object")
    size, after = body.get("pageSize", BOARD_PAGE_SIZE), body.get("lastCursorId", 0) or 0
    if not isinstance(size, int) or size < 1 or not isinstance(after, int):
        raise NinjaError(400, "pageSize must be a positive integer and lastCursorId an integer")
    tickets = sorted(store["tickets"].values(), key=lambda t: t["id"])
    if board_id == 2:
        tickets = [t for t in tickets if t["status"]["name"] not in {"RESOLVED", "CLOSED"}]
    if text := body.get("searchCriteria"):
        tickets = [t for t in tickets if str(text).casefold() in t["subject"].casefold()]
    rows = [_row(store, t) for t in tickets if t["id"] > after]
    for flt in body.get("filters") or []:
        rows = [r for r in rows if _passes(r, flt)]
    page = rows[:size]
    metadata = {
        "lastCursorId": page[-1]["id"] if page else None,
        "sortBy": body.get("sortBy") or [],
        "filters": body.get("filters") or [],
    }
    return {"data": page, "metadata": metadata}


def _passes(row: Mapping[str, Any], flt: Any) -> bool:
    if not isinstance(flt, dict) or flt.get("field") not in row or flt.get("operator") not in {"eq", "in", "neq"}:
        raise NinjaError(400, f"Invalid filter: {flt!r}")
    value, actual = flt.get("value"), row[flt["field"]]
    if isinstance(actual, dict):
        actual = actual.get("name")
    if flt["operator"] == "in":
        return isinstance(value, list) and any(bool(actual == v) for v in value)
    return bool(actual == value) is (flt["operator"] == "eq")


def _status(value: Any) -> Record:
    for status in STATUSES:
        if str(value).upper() in {status["name"], str(status["statusId"])}:
            return dict(status)
    raise NinjaError(400, f"Unknown ticket status {value!r}")


def _check_placement(store: Store, ticket: Record) -> None:
    org = ticket.get("clientId")
    if org not in store["organizations"]:
        raise NinjaError(400, f"Organization (clientId) {org!r} not found")
    node = ticket.get("nodeId")
    if node is not None and store["devices"].get(node, {}).get("organizationId") != org:
        raise NinjaError(400, f"Device {node} does not belong to organization {org}")
    location = ticket.get("locationId")
    if location is not None and store["locations"].get(location, {}).get("organizationId") != org:
        raise NinjaError(400, f"Location {location} does not belong to organization {org}")


_WRITABLE = (
    "clientId",
    "ticketFormId",
    "locationId",
    "nodeId",
    "subject",
    "type",
    "priority",
    "severity",
    "tags",
    "requesterUid",
    "assignedAppUserId",
    "description",
    "cc",
    "parentTicketId",
)


def create_ticket(store: Store, body: Any, now: float) -> Record:
    if not isinstance(body, dict):
        raise NinjaError(400, "The ticket must be a JSON object")
    missing = [k for k in ("clientId", "ticketFormId", "subject") if body.get(k) in (None, "")]
    if missing:
        raise NinjaError(400, f"Missing required fields: {', '.join(missing)}")
    ticket: Record = {"type": "PROBLEM", "priority": "NONE", "severity": "NONE", "tags": []}
    ticket.update({k: copy.deepcopy(body[k]) for k in _WRITABLE if k in body})
    ticket["status"] = _status(body.get("status", "NEW"))
    _check_placement(store, ticket)
    ticket.update(id=max(store["tickets"], default=0) + 1, version=1, createTime=now)
    store["tickets"][ticket["id"]] = ticket
    return ticket


def update_ticket(store: Store, ticket_id: int, body: Any) -> Record:
    current = store["tickets"].get(ticket_id)
    if current is None:
        raise NinjaError(404, f"Ticket {ticket_id} not found")
    if not isinstance(body, dict):
        raise NinjaError(400, "The ticket must be a JSON object")
    updated = {**copy.deepcopy(current), **{k: copy.deepcopy(body[k]) for k in _WRITABLE if k in body}}
    if "status" in body:
        updated["status"] = _status(body["status"])
    _check_placement(store, updated)
    updated["version"] = current["version"] + 1
    store["tickets"][ticket_id] = updated
    return updated


def add_comment(store: Store, ticket_id: int, part: bytes | str | None, now: float) -> None:
    """A comment arrives as the multipart part ``comment`` holding JSON ``{body, htmlBody, public, timeTracked}``."""
    if ticket_id not in store["tickets"]:
        raise NinjaError(404, f"Ticket {ticket_id} not found")
    if part is None:
        raise NinjaError(400, "A comment is a multipart/form-data request with a 'comment' part")
    try:
        comment = orjson.loads(part)
    except orjson.JSONDecodeError as err:
        raise NinjaError(400, "The 'comment' part must be JSON") from err
    if not isinstance(comment, dict) or not (comment.get("body") or comment.get("htmlBody")):
        raise NinjaError(400, "A comment needs a body or an htmlBody")
    entry = {
        "id": max(store["comments"], default=0) + 1,
        "_ticketId": ticket_id,
        "type": "COMMENT",
        "body": comment.get("body"),
        "htmlBody": comment.get("htmlBody"),
        "publicEntry": bool(comment.get("public", True)),
        "createTime": now,
        "timeTracked": comment.get("timeTracked"),
        "appUserContactUid": "api",
    }
    store["comments"][entry["id"]] = entry
