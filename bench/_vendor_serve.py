"""``python -m bench._vendor_serve ARGS``: the ``msplex`` CLI, with every vendor's pacing limit raised.

A vendor connector paces itself under the vendor's published limit (Halo: 270 requests per 5 minutes),
which would turn ``bench.vendor_call`` into a measurement of waiting. This registers each built-in
vendor again with a limit the bench cannot reach (the pacer still runs and is charged), then runs the
CLI unchanged: ``serve`` is the real gateway process.
"""

from __future__ import annotations

import dataclasses
import sys

from msplex.connectors.framework import RateLimit, Vendor, registry

__all__ = ["LIFTED", "lift_pacing"]

LIFTED = RateLimit(requests=10**9, per_seconds=1)


def lift_pacing(vendor: Vendor) -> Vendor:
    return dataclasses.replace(vendor, rate=dataclasses.replace(vendor.rate or LIFTED, requests=10**9, per_seconds=1))


def _main() -> None:
    for kind in registry.KINDS:
        registry.register(lift_pacing(registry.vendor(kind)))
    from msplex.cli import main

    sys.argv = ["msplex", *sys.argv[1:]]
    main()


if __name__ == "__main__":
    _main()
