"""A JWT taken apart before any key is involved: its segments, header, claims, and the typed refusal.

Everything here reads attacker-controlled bytes. Parsing is strict and bounded
(``MAX_TOKEN_LENGTH``), and it never trusts what it reads: these functions can
only refuse a token or describe it, never accept one; acceptance needs the
signature check in ``oidc``. A value that came from a token enters a message
only through ``shown`` (ASCII, no quotes or backslashes, truncated), so a
description is always safe in a ``WWW-Authenticate`` header and can never carry
the token or its signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, NamedTuple, get_args

__all__ = [
    "CHECKS",
    "MAX_TOKEN_LENGTH",
    "Check",
    "InvalidToken",
    "Parsed",
    "claim_at",
    "iso",
    "looks_like_jwt",
    "numeric_claim",
    "parse",
    "safe",
    "shown",
    "unverified_issuer",
]

Check = Literal[
    "malformed",
    "algorithm",
    "kid",
    "signature",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "issuer",
    "audience",
    "jwks_unavailable",
    "claims",
]
CHECKS: Final[frozenset[str]] = frozenset(get_args(Check))

MAX_TOKEN_LENGTH: Final = 16_384
"""Longer bearer values are refused before any decoding: real access tokens are a few KiB at most."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')
_DESCRIPTION_LIMIT: Final = 480


class InvalidToken(Exception):
    """A bearer JWT was refused. ``check`` says which check failed (one of ``CHECKS``).

    ``description`` starts with the check's name, is printable ASCII without
    quotes or backslashes and at most 480 characters, so it can go verbatim into
    ``WWW-Authenticate: Bearer error="invalid_token", error_description="..."``.
    It names what was expected where that is public (issuer, audience, accepted
    algorithms) and never contains the token or its signature.
    """

    def __init__(self, check: Check, detail: str) -> None:
        self.check: Check = check
        self.description = safe(f"{check}: {detail}")
        super().__init__(self.description)


class Parsed(NamedTuple):
    """A token's decoded header and claims. Nothing in it is verified."""

    header: dict[str, Any]
    claims: dict[str, Any]


def safe(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    """``text`` as header-safe ASCII: other characters become ``?``, ``"`` becomes ``'``, ``\\`` becomes ``/``."""
    cleaned = _UNSAFE.sub(lambda m: {'"': "'", "\\": "/"}.get(m.group(), "?"), text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def shown(value: Any, limit: int = 64) -> str:
    """A value read from a token, fit for a message: a quoted, cleaned, truncated string, else its JSON type."""
    if isinstance(value, str):
        return "'" + safe(value, limit) + "'"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return safe(repr(value), limit)
    return "a JSON array" if isinstance(value, list) else "a JSON object"


def iso(timestamp: float) -> str:
    """``timestamp`` as UTC ISO 8601 to the second (``2025-01-31T12:00:00Z``); the number itself if out of range."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{timestamp:.0f}"


def _json_segment(segment: str) -> Any:
    """A base64url segment's JSON value; ``None`` when it is not one (JSON ``null`` is no use to a JWT either)."""
    if not _SEGMENT.fullmatch(segment):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None


def parse(token: str) -> Parsed:
    """The header and claims of a compact JWS, or ``InvalidToken("malformed")``.

    Refused here: more than ``MAX_TOKEN_LENGTH`` characters, anything but three
    segments (a five-segment JWE is named as such), a header or payload that is
    not a base64url JSON object, a header without a string ``alg``, a non-string
    ``kid``, and the ``crit``/``b64`` header parameters (no extension is
    understood, and RFC 7515 says a token naming one must then be refused).
    Header key hints (``jku``, ``jwk``, ``x5u``, ``x5c``) are ignored: keys come
    only from the configured provider.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("malformed", f"token longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) == 5:
        raise InvalidToken("malformed", "encrypted tokens (JWE) are not accepted; a signed JWT has 3 segments")
    if len(parts) != 3:
        raise InvalidToken("malformed", f"a JWT has 3 dot-separated segments, this has {len(parts)}")
    header = _json_segment(parts[0])
    if not isinstance(header, dict):
        raise InvalidToken("malformed", "the JWT header is not a base64url-encoded JSON object")
    claims = _json_segment(parts[1])
    if not isinstance(claims, dict):
        raise InvalidToken("malformed", "the JWT payload is not a base64url-encoded JSON object")
    if not _SEGMENT.fullmatch(parts[2]):
        raise InvalidToken("malformed", "the JWT signature is not base64url")
    if not isinstance(header.get("alg"), str):
        raise InvalidToken("malformed", "the JWT header has no alg")
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidToken("malformed", f"the JWT header kid is {shown(header['kid'])}, not a string")
    for extension in ("crit", "b64"):
        if extension in header:
            raise InvalidToken("malformed", f"the JWT header parameter {extension} is not supported")
    return Parsed(header, claims)


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has the shape of a signed JWT: three base64url segments, a JSON header with an ``alg``.

    For routing a bearer to the JWT verifier rather than elsewhere; a token
    that looks like one may still be refused by every check. The signature
    segment may be empty, so that an ``alg: none`` token is routed to the
    verifier and refused there by name.
    """
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return False
    head, body, signature = token.split(".")
    if not body or not _SEGMENT.fullmatch(body) or not _SEGMENT.fullmatch(signature):
        return False
    header = _json_segment(head)
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` claim as written in ``token``, without any verification; ``None`` if there is none.

    Only for choosing which configured provider should verify the token: the
    chosen verifier checks ``iss`` again against its own configuration, so a
    lying token can at worst pick a verifier that then refuses it.
    """
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    claims = _json_segment(token.split(".")[1])
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim named ``path``, else the value at the dotted ``path`` through nested objects; ``None`` if absent.

    A claim whose own name contains dots (Auth0's ``https://example.com/roles``)
    is found by its full name first.
    """
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def numeric_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    """A NumericDate claim as a float, ``None`` if absent and optional; ``InvalidToken("claims")`` otherwise.

    Refuses booleans, strings and the non-finite values Python's JSON parser
    admits (``Infinity`` would make a token that never expires).
    """
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidToken("claims", f"the token has no {name} claim")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise InvalidToken("claims", f"the {name} claim is {shown(value)}, not a finite number of seconds")
