"""The vendor kinds MSPlex knows, and where each one's module lives.

A vendor module (``msplex.connectors.<kind>``) exports ``VENDOR: Vendor``. Kinds are listed here
up front, so adding a vendor module needs no edit elsewhere; a kind whose module is not there
yet is simply unavailable (``msplex connect`` lists only the available ones). Further vendor
modules (a plugin, a test's vendor) are named in ``MSPLEX_VENDOR_MODULES`` (comma-separated
importable modules, each exporting ``VENDOR``); the gateway and the CLI both read it.
"""

from __future__ import annotations

import importlib
import logging
import os
from functools import cache

from msplex.connectors.framework.spec import Vendor

__all__ = ["KINDS", "UnknownVendor", "available", "vendor"]

KINDS: dict[str, str] = {
    "halopsa": "msplex.connectors.halopsa",
    "hudu": "msplex.connectors.hudu",
    "connectwise": "msplex.connectors.connectwise",
    "pax8": "msplex.connectors.pax8",
    "ninjaone": "msplex.connectors.ninjaone",
    "ninjaone-user": "msplex.connectors.ninjaone.user",
}

log = logging.getLogger("msplex.connectors")

_EXTRA: dict[str, Vendor] = {}


class UnknownVendor(LookupError):
    def __init__(self, kind: str) -> None:
        known = ", ".join(v.kind for v in available()) or "none"
        super().__init__(f"unknown vendor {kind!r} (available: {known})")
        self.kind = kind


def register(vendor: Vendor) -> None:
    """Make a vendor available that lives outside ``KINDS`` (tests, plugins)."""
    _EXTRA[vendor.kind] = vendor


def unregister(kind: str) -> None:
    _EXTRA.pop(kind, None)


@cache
def _load(kind: str) -> Vendor | None:
    module_name = KINDS.get(kind)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise
    found = getattr(module, "VENDOR", None)
    return found if isinstance(found, Vendor) else None


@cache
def _plugins(names: str) -> dict[str, Vendor]:
    out: dict[str, Vendor] = {}
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        try:
            found = getattr(importlib.import_module(name), "VENDOR", None)
        except Exception as exc:  # a broken plugin must not take the gateway or the CLI down with it
            log.error("MSPLEX_VENDOR_MODULES: cannot import %s (%s: %s)", name, type(exc).__name__, exc)
            continue
        if isinstance(found, Vendor):
            out[found.kind] = found
        else:
            log.error("MSPLEX_VENDOR_MODULES: %s exports no VENDOR", name)
    return out


def _extra() -> dict[str, Vendor]:
    return {**_plugins(os.environ.get("MSPLEX_VENDOR_MODULES", "")), **_EXTRA}


def vendor(kind: str) -> Vendor:
    found = _extra().get(kind) or _load(kind)
    if found is None:
        raise UnknownVendor(kind)
    return found


def available() -> list[Vendor]:
    found = [v for kind in KINDS if (v := _load(kind)) is not None]
    return found + [v for k, v in _extra().items() if k not in KINDS]
