"""The audit log and metering (chain stage 12), and the approval decisions recorded with them.

``entry``: what one record holds and how records are chained (a keyed MAC over
the previous record's hash and the facts); ``writer``: the group-commit writer
the chain waits on; ``verify``: which record of a chain was altered, removed,
inserted or reordered; ``export``: JSON lines and CSV. The records and the
usage counters live in ``msplex.store.audit``. Modules are imported by name
(this package's ``__init__`` stays empty: ``msplex.store`` imports ``entry``).
"""
