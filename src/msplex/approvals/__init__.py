"""Approvals: calls held until a person approves them (chain stage 10), and the decisions on them.

``Approvals`` (``service``) holds, wakes and admits calls; ``decide`` is the one
way a decision is made (the CLI and the admin API call it); ``replies`` shapes
what a held call's client is told in each protocol era; ``redact`` is the view
of arguments an approver sees. The requests themselves live in
``msplex.store.approvals``.
"""

from msplex.approvals.redact import REDACTED, redact_arguments
from msplex.approvals.replies import APPROVAL_META
from msplex.approvals.service import CHANNEL, Approvals, decide

__all__ = ["APPROVAL_META", "CHANNEL", "REDACTED", "Approvals", "decide", "redact_arguments"]
