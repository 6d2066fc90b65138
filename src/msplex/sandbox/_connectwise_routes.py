"""The ConnectWise fake's resources: listing (conditions, orderBy, fields, paging), creates and JSON-Patch updates.

Pure functions over the store, raising ``CwError`` with Manage's body; the HTTP layer in
``connectwise.py`` authenticates, limits, records and writes the ``Link`` header.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msplex.sandbox._connectwise_seed import PARENTS, Record, Store, ref
from msplex.sandbox._cw_conditions import ConditionError, field_paths, parse, resolve

__all__ = ["MAX_PAGE_SIZE", "CwError", "Listing", "Target", "create", "delete", "get", "listing", "patch", "target"]

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
_NOUNS = {
    "service/tickets": "ticket",
    "service/notes": "note",
    "service/tasks": "task",
    "time/entries": "timeEntry",
    "company/contacts": "contact",
    "schedule/entries": "scheduleEntry",
    "company/companies": "company",
}
_REQUIRED = {
    "service/tickets": ("summary", "company"),
    "service/notes": ("text",),
    "service/tasks": ("notes",),
    "time/entries": ("timeStart",),
    "company/contacts": ("firstName",),
    "schedule/entries": ("objectId", "member", "dateStart"),
}
"""collection -> fields a create must carry; only these collections accept POST."""
_REFS = {
    "company": "company/companies",
    "contact": "company/contacts",
    "board": "service/boards",
    "priority": "service/priorities",
    "owner": "system/members",
    "member": "system/members",
}
_BOARD_SCOPED = {"status": "service/statuses", "type": "service/types"}
_READ_ONLY = {"id", "_info", "ticketId", "recordType", "closedFlag"}


class CwError(Exception):
    """Manage's error answer: ``{code, message, errors?}``."""

    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors


def _invalid(collection: str, field: str, message: str, code: str = "InvalidField") -> CwError:
    noun = _NOUNS.get(collection, collection.rsplit("/", 1)[-1])
    return CwError(
        400,
        "InvalidObject",
        f"{noun} object is invalid",
        [{"code": code, "message": message, "resource": noun, "field": field}],
    )


@dataclass(frozen=True, slots=True)
class Target:
    """What a ``/apis/3.0/...`` path names: a collection (under a parent), maybe one item, maybe its count."""

    collection: str
    parent: int | None = None
    item: int | None = None
    count: bool = False


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def target(store: Store, path: str) -> Target:
    parts = [p for p in path.split("/") if p]
    count = bool(parts) and parts[-1] == "count"
    if count:
        parts = parts[:-1]
    parent: int | None = None
    if len(parts) >= 4:
        child = f"{parts[0]}/{parts[3]}"
        parent = _int(parts[2])
        if PARENTS.get(child, ("",))[0] != f"{parts[0]}/{parts[1]}" or parent is None:
            raise CwError(404, "NotFound", f"no resource at /{path}")
        if parent not in store[PARENTS[child][0]]:
            raise CwError(404, "NotFound", f"{parts[1]} id {parent} was not found")
        collection, rest = child, parts[4:]
    elif len(parts) >= 2:
        collection, rest = f"{parts[0]}/{parts[1]}", parts[2:]
        if collection not in store or collection in PARENTS:
            raise CwError(404, "NotFound", f"no resource at /{path}")
    else:
        raise CwError(404, "NotFound", f"no resource at /{path}")
    if len(rest) > 1 or (rest and (_int(rest[0]) is None or count)):
        raise CwError(404, "NotFound", f"no resource at /{path}")
    return Target(collection, parent, _int(rest[0]) if rest else None, count)


def _members(store: Store, t: Target) -> list[Record]:
    records = list(store[t.collection].values())
    if t.parent is not None:
        records = [r for r in records if resolve(r, PARENTS[t.collection][1]) == t.parent]
    return records


@dataclass(frozen=True, slots=True)
class Listing:
    records: list[Record]
    page: int
    page_size: int
    total: int


def _positive(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise CwError(
            400,
            "InvalidObject",
            f"{name} must be a positive integer",
            [{"code": "InvalidField", "message": f"{name} is not valid", "resource": "query", "field": name}],
        )
    return int(raw)


def listing(store: Store, t: Target, query: Mapping[str, str]) -> Listing | int:
    """One page of ``t`` (or, for ``/count``, the number of matches)."""
    records = _members(store, t)
    known = field_paths(store[t.collection].values())
    try:
        if conditions := query.get("conditions"):
            cond = parse(conditions, known)
            records = [r for r in records if cond(r)]
    except ConditionError as err:
        raise _invalid(t.collection, "conditions", f"conditions is invalid: {err}", "InvalidCondition") from err
    if t.count:
        return len(records)
    records = _ordered(records, query.get("orderBy", ""), known, t.collection)
    page = _positive(query, "page", 1)
    size = min(_positive(query, "pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    window = records[(page - 1) * size : page * size]
    fields = [f.strip() for f in query.get("fields", "").split(",") if f.strip()]
    return Listing([_project(r, fields) for r in window], page, size, len(records))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, int | float | bool):
        return (2, value)
    return (3, str(value))


def _by(field: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda r: _sort_key(resolve(r, field))


def _ordered(records: list[Record], order_by: str, known: frozenset[str], collection: str) -> list[Record]:
    out = sorted(records, key=lambda r: r["id"])
    for clause in reversed([c.strip() for c in order_by.split(",") if c.strip()]):
        field, _, direction = clause.partition(" ")
        direction = direction.strip().lower() or "asc"
        if field.casefold() not in known or direction not in {"asc", "desc"}:
            raise _invalid(collection, "orderBy", f"orderBy is invalid: {clause!r}")
        out.sort(key=_by(field), reverse=direction == "desc")
    return out


def _project(record: Record, fields: list[str]) -> Record:
    if not fields:
        return copy.deepcopy(record)
    out: Record = {}
    for path in fields:
        value = resolve(record, path)
        if value is None:
            continue  # Manage leaves unknown or empty fields out
        node = out
        steps = path.split("/")
        for step in steps[:-1]:
            node = node.setdefault(step, {})
        node[steps[-1]] = copy.deepcopy(value)
    return out


def get(store: Store, t: Target) -> Record:
    record = next((r for r in _members(store, t) if r["id"] == t.item), None)
    if record is None:
        noun = _NOUNS.get(t.collection, t.collection.rsplit("/", 1)[-1])
        raise CwError(404, "NotFound", f"{noun[:1].upper()}{noun[1:]} Id {t.item} was not found.")
    return record


def delete(store: Store, t: Target) -> None:
    del store[t.collection][get(store, t)["id"]]


def _find(store: Store, collection: str, value: Any, within: int | None = None) -> Record | None:
    if not isinstance(value, Mapping):
        return None
    records = store[collection].values()
    if within is not None:
        records = [r for r in records if resolve(r, "board/id") == within]  # type: ignore[assignment]
    if "id" in value:
        return next((r for r in records if r["id"] == value["id"]), None)
    for key in ("identifier", "name"):
        if isinstance(value.get(key), str):
            wanted = value[key].casefold()
            return next((r for r in records if str(r.get(key, "")).casefold() == wanted), None)
    return None


def _resolve_refs(store: Store, collection: str, record: Record, fields: set[str]) -> None:
    """Replace each named reference by Manage's canonical ``{id, name...}``; unknown ones are invalid."""
    for field in fields & _REFS.keys():
        if record.get(field) is None:
            continue
        found = _find(store, _REFS[field], record[field])
        if found is None:
            raise _invalid(collection, field, f"The {field} {record[field]!r} was not found.")
        record[field] = ref(found, "identifier", "name")
        if field == "contact":
            record[field] = {"id": found["id"], "name": f"{found['firstName']} {found.get('lastName', '')}".strip()}
    board = resolve(record, "board/id")
    for field in fields & _BOARD_SCOPED.keys():
        if record.get(field) is None:
            continue
        found = _find(store, _BOARD_SCOPED[field], record[field], board)
        if found is None:
            raise _invalid(collection, field, f"The {field} {record[field]!r} is not valid for board {board}.")
        record[field] = ref(found, "name")
        if field == "status":
            record["closedFlag"] = bool(found.get("closedStatus"))


def create(store: Store, t: Target, body: Any, now: str) -> Record:
    if t.collection not in _REQUIRED or t.item is not None or t.count:
        raise CwError(405, "MethodNotAllowed", "POST is not supported on this resource")
    if not isinstance(body, dict):
        raise CwError(400, "InvalidObject", "The request body must be a JSON object")
    record = {k: copy.deepcopy(v) for k, v in body.items() if k not in _READ_ONLY}
    for field in _REQUIRED[t.collection]:
        if record.get(field) in (None, ""):
            raise _invalid(t.collection, field, f"The {field} field is required.", "NullValue")
    if t.parent is not None:
        record[PARENTS[t.collection][1]] = t.parent
    _defaults(store, t.collection, record, now)
    _resolve_refs(store, t.collection, record, set(record))
    record["id"] = max(store[t.collection], default=0) + 1
    record["_info"] = {"dateEntered": now, "lastUpdated": now, "enteredBy": "msplex-api", "updatedBy": "msplex-api"}
    store[t.collection][record["id"]] = record
    return record


def _defaults(store: Store, collection: str, record: Record, now: str) -> None:
    if collection == "service/tickets":
        record.setdefault("board", {"id": 1})
        board_id = (_find(store, "service/boards", record["board"]) or {"id": None})["id"]
        default = next(
            (
                s
                for s in store["service/statuses"].values()
                if resolve(s, "board/id") == board_id and s.get("defaultFlag")
            ),
            None,
        )
        if default is not None:
            record.setdefault("status", {"id": default["id"]})
        record.setdefault("priority", {"id": 3})
        record["recordType"] = "ServiceTicket"
    elif collection == "service/notes":
        flags = ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
        if not any(record.get(f) is True for f in flags):
            raise _invalid(
                collection,
                "detailDescriptionFlag",
                "One of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
            )
        for flag in (*flags, "customerUpdatedFlag"):
            record.setdefault(flag, False)
        record["dateCreated"] = now
    elif collection == "time/entries":
        _time_entry(store, record)
    elif collection == "company/contacts":
        record.setdefault("inactiveFlag", False)


def _time_entry(store: Store, record: Record) -> None:
    record.setdefault("member", {"id": 140})
    record.setdefault("billableOption", "Billable")
    if record.get("chargeToType", "ServiceTicket") == "ServiceTicket" and "chargeToId" in record:
        ticket = store["service/tickets"].get(record["chargeToId"])
        if ticket is None:
            raise _invalid("time/entries", "chargeToId", f"Ticket {record['chargeToId']} was not found.")
        record["chargeToType"] = "ServiceTicket"
        record["company"] = {"id": ticket["company"]["id"]}
    elif "company" not in record:
        raise _invalid("time/entries", "company", "A time entry needs a chargeToId or a company.", "NullValue")
    if "actualHours" not in record and "timeEnd" in record:
        try:
            start = datetime.fromisoformat(str(record["timeStart"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(record["timeEnd"]).replace("Z", "+00:00"))
        except ValueError as err:
            raise _invalid("time/entries", "timeEnd", "timeStart and timeEnd must be ISO 8601 dates.") from err
        record["actualHours"] = round((end - start).total_seconds() / 3600, 2)


def patch(store: Store, t: Target, body: Any, now: str) -> Record:
    """Apply a JSON Patch (RFC 6902 ``add``/``replace``/``remove``); Manage accepts nothing else on PATCH."""
    current = get(store, t)
    if not isinstance(body, list) or not body:
        raise CwError(
            400,
            "InvalidObject",
            "PATCH requires a JSON Patch array of operations",
            [{"code": "InvalidField", "message": "Expected [{op, path, value}]", "resource": "patch", "field": "body"}],
        )
    updated = copy.deepcopy(current)
    touched: set[str] = set()
    for op in body:
        if (
            not isinstance(op, dict)
            or op.get("op") not in {"add", "replace", "remove"}
            or not isinstance(op.get("path"), str)
            or not op["path"].startswith("/")
        ):
            raise CwError(400, "InvalidObject", f"Invalid patch operation: {op!r}")
        steps = op["path"].strip("/").split("/")
        if steps[0] in _READ_ONLY or not steps[0]:
            raise _invalid(t.collection, steps[0], f"The {steps[0]} field cannot be changed.")
        node = updated
        for step in steps[:-1]:
            node = node.setdefault(step, {})
            if not isinstance(node, dict):
                raise CwError(400, "InvalidObject", f"Invalid patch path: {op['path']}")
        if op["op"] == "remove":
            node.pop(steps[-1], None)
        else:
            node[steps[-1]] = copy.deepcopy(op.get("value"))
        touched.add(steps[0])
    for field in _REQUIRED.get(t.collection, ()):
        if updated.get(field) in (None, ""):
            raise _invalid(t.collection, field, f"The {field} field is required.", "NullValue")
    if "board" in touched and "status" not in touched:
        touched.add("status")  # a status belongs to a board: Manage re-validates it
    _resolve_refs(store, t.collection, updated, touched)
    updated["_info"] = {**updated.get("_info", {}), "lastUpdated": now, "updatedBy": "msplex-api"}
    store[t.collection][current["id"]] = updated
    return updated
