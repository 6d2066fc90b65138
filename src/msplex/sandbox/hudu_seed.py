"""The Hudu fake's seed: two customers (companies), shaped as Hudu's API returns them.

Contoso has 30 computers, so its asset list needs two pages of Hudu's default 25; every company has
asset passwords whose ``password`` and ``otp_secret`` are plaintext, as Hudu returns them, so
redaction has something real to hide; and one article quotes a password in its text, as
technicians do, so scrubbing by value has something to find; and the firewall asset keeps a
password in a custom field, as Hudu layouts with a Password field do. The values are fixed, so
tests can assert they never leak.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONTOSO", "FABRIKAM", "SECRETS", "seed"]

JSON = dict[str, Any]
CONTOSO = 1
FABRIKAM = 2
STAMP = "2026-01-15T09:30:00.000Z"
_FW_MAC = "00:1A:2B:FF:00:01"
_FW_PW = "Local Admin Password"

SECRETS: tuple[str, ...] = (
    "Contoso-DA-pw-7f3k9q",
    "JBSWY3DPEHPK3PXPCONTOSO1",
    "Contoso-FW-pw-2m8x4v",
    "Fabrikam-DA-pw-9z1c6b",
    "JBSWY3DPEHPK3PXPFABRIKAM",
    "Fabrikam-WiFi-pw-5t7y3u",
    "Contoso-FW-local-4q8w1z",
)
"""Every plaintext secret in the seed (passwords, OTP secrets, a password-typed asset field)."""

_COMPANIES = (
    (CONTOSO, "Contoso Ltd", "contoso", "Seattle", "WA", "https://contoso.example"),
    (FABRIKAM, "Fabrikam Inc", "fabrikam", "Austin", "TX", "https://fabrikam.example"),
)
_LAYOUT_FIELDS = {
    "Computer": ("IP Address", "MAC Address", "Operating System"),
    "Network Device": ("IP Address", "MAC Address", "Firmware", "Local Admin Password"),
    "Contact": ("Email", "Phone"),
}


def _company(cid: int, name: str, slug: str, city: str, state: str, website: str) -> JSON:
    return {
        "id": cid,
        "slug": f"{slug}-{cid}",
        "name": name,
        "nickname": None,
        "company_type": "Customer",
        "address_line_1": f"{cid} Main Street",
        "address_line_2": None,
        "city": city,
        "state": state,
        "zip": "00000",
        "country_name": "United States",
        "phone_number": f"555-010{cid}",
        "fax_number": "",
        "website": website,
        "id_number": f"CUST-{cid:04d}",
        "id_in_integration": None,
        "parent_company_id": None,
        "parent_company_name": None,
        "notes": None,
        "archived": False,
        "object_type": "Company",
        "url": f"/c/{slug}-{cid}",
        "full_url": f"https://hudu.example/c/{slug}-{cid}",
        "passwords_url": f"/c/{slug}-{cid}/passwords",
        "knowledge_base_url": f"/kb/{slug}-{cid}",
        "created_at": STAMP,
        "updated_at": STAMP,
        "integrations": [],
    }


def _layout(lid: int, name: str) -> JSON:
    fields = [
        {"id": lid * 10 + i, "label": label, "field_type": "Text", "position": i, "required": False}
        for i, label in enumerate(_LAYOUT_FIELDS[name], start=1)
    ]
    return {
        "id": lid,
        "slug": name.lower().replace(" ", "-"),
        "name": name,
        "icon": "fas fa-desktop",
        "color": "#000000",
        "icon_color": "#ffffff",
        "sidebar_folder_id": None,
        "active": True,
        "include_passwords": True,
        "include_photos": False,
        "include_comments": True,
        "include_files": True,
        "created_at": STAMP,
        "updated_at": STAMP,
        "fields": fields,
    }


def asset_record(aid: int, company: JSON, layout: JSON, name: str, values: dict[str, str], serial: str) -> JSON:
    """An asset as Hudu returns it (its custom fields as ``fields``: label, value, position)."""
    fields = [
        {"id": f["id"], "label": f["label"], "value": values.get(f["label"], ""), "position": f["position"]}
        for f in layout["fields"]
    ]
    return {
        "id": aid,
        "company_id": company["id"],
        "asset_layout_id": layout["id"],
        "slug": f"{name.lower()}-{aid}",
        "name": name,
        "primary_serial": serial,
        "primary_mail": None,
        "primary_model": None,
        "primary_manufacturer": None,
        "company_name": company["name"],
        "object_type": "Asset",
        "asset_type": layout["name"],
        "archived": False,
        "url": f"/a/{name.lower()}-{aid}",
        "created_at": STAMP,
        "updated_at": STAMP,
        "fields": fields,
        "cards": [],
    }


def _password(pid: int, company: JSON, name: str, username: str, password: str, otp: str, url: str) -> JSON:
    return {
        "id": pid,
        "company_id": company["id"],
        "passwordable_type": None,
        "passwordable_id": None,
        "name": name,
        "username": username,
        "slug": f"{name.lower().replace(' ', '-')}-{pid}",
        "description": f"{name} for {company['name']}",
        "password": password,
        "otp_secret": otp,
        "password_type": None,
        "url": f"/passwords/{pid}",
        "login_url": url,
        "password_folder_id": None,
        "password_folder_name": None,
        "archived": False,
        "created_at": STAMP,
        "updated_at": STAMP,
    }


def article_record(aid: int, company: JSON | None, name: str, content: str, *, draft: bool = False) -> JSON:
    return {
        "id": aid,
        "slug": f"{name.lower().replace(' ', '-')}-{aid}",
        "name": name,
        "draft": draft,
        "content": content,
        "url": f"/kba/{aid}",
        "object_type": "Article",
        "folder_id": None,
        "enable_sharing": False,
        "share_url": None,
        "company_id": company["id"] if company else None,
        "created_at": STAMP,
        "updated_at": STAMP,
        "public_photos": [],
    }


def _website(wid: int, company: JSON, name: str) -> JSON:
    return {
        "id": wid,
        "name": name,
        "code": 200,
        "message": "OK",
        "slug": f"{company['slug']}-site-{wid}",
        "keyword": None,
        "monitor_type": 0,
        "status": "ready",
        "monitoring_status": "up",
        "refreshed_at": STAMP,
        "monitored_at": STAMP,
        "paused": False,
        "company_id": company["id"],
        "company_name": company["name"],
        "disable_ssl": False,
        "disable_whois": False,
        "disable_dns": False,
        "notes": "",
        "object_type": "Website",
        "asset_type": "Website",
        "archived": False,
        "url": f"/websites/{wid}",
        "created_at": STAMP,
        "updated_at": STAMP,
    }


def _procedure(pid: int, company: JSON | None, name: str, total: int) -> JSON:
    return {
        "id": pid,
        "slug": f"{name.lower().replace(' ', '-')}-{pid}",
        "name": name,
        "description": f"How we handle {name.lower()}.",
        "total": total,
        "completed": 0,
        "url": f"/procedures/{pid}",
        "object_type": "Procedure",
        "company_id": company["id"] if company else None,
        "company_name": company["name"] if company else None,
        "completion_percentage": "0",
        "parent_procedure": None,
        "run": False,
        "parent_process_id": None,
        "process_type": "company" if company else "global",
        "status": "Not Started",
        "asset": None,
        "share_url": None,
        "created_at": STAMP,
        "updated_at": STAMP,
        "procedure_tasks_attributes": [{"id": pid * 10 + i, "name": f"Step {i}"} for i in range(1, total + 1)],
    }


def seed() -> dict[str, list[JSON]]:
    """A fresh copy of the seed, keyed by resource (``companies``, ``assets``, ...)."""
    companies = [_company(*row) for row in _COMPANIES]
    contoso, fabrikam = companies
    layouts = [_layout(i, name) for i, name in enumerate(_LAYOUT_FIELDS, start=1)]
    computer, network, _contact = layouts
    assets = []
    for n in range(1, 31):
        values = {"IP Address": f"10.1.0.{n}", "MAC Address": f"00:1A:2B:00:01:{n:02X}", "Operating System": "Win 11"}
        assets.append(asset_record(100 + n, contoso, computer, f"CON-PC{n:02d}", values, f"CSN{n:04d}"))
    assets.append(
        asset_record(
            131,
            contoso,
            network,
            "CON-FW01",
            {"IP Address": "10.1.0.254", "MAC Address": _FW_MAC, _FW_PW: SECRETS[6]},
            "FW1",
        )
    )
    for n in range(1, 6):
        values = {"IP Address": f"10.2.0.{n}", "MAC Address": f"00:1A:2B:00:02:{n:02X}", "Operating System": "macOS"}
        assets.append(asset_record(200 + n, fabrikam, computer, f"FAB-MAC{n:02d}", values, f"FSN{n:04d}"))
    s = SECRETS
    passwords = [
        _password(301, contoso, "Domain Admin", "CONTOSO\\admin", s[0], s[1], "https://dc.contoso.example"),
        _password(302, contoso, "Firewall", "fwadmin", s[2], "", "https://10.1.0.254"),
        _password(303, fabrikam, "Domain Admin", "FABRIKAM\\admin", s[3], s[4], "https://dc.fabrikam.example"),
        _password(304, fabrikam, "Office WiFi", "", s[5], "", ""),
    ]
    articles = [
        article_record(401, contoso, "Contoso onboarding", "<h1>Onboarding</h1><p>Create the user in AD.</p>"),
        article_record(
            402,
            contoso,
            "Contoso backup runbook",
            f"<p>Nightly backups to the NAS at 10.1.0.20 (fwadmin / {s[2]}).</p>",
        ),
        article_record(403, fabrikam, "Fabrikam printer fix", "<p>Restart the spooler, then reinstall the driver.</p>"),
        article_record(404, fabrikam, "Fabrikam VPN setup", "<p>The VPN gateway is vpn.fabrikam.example.</p>"),
        article_record(405, None, "Global: password policy", "<p>Fourteen characters, no reuse.</p>"),
    ]
    websites = [
        _website(501, contoso, "https://contoso.example"),
        _website(502, contoso, "https://mail.contoso.example"),
        _website(503, fabrikam, "https://fabrikam.example"),
    ]
    procedures = [
        _procedure(601, contoso, "New starter", 3),
        _procedure(602, fabrikam, "Leaver", 2),
        _procedure(603, None, "Monthly patching", 4),
    ]
    logs = [
        {"resource_type": "Asset", "resource_id": 101, "action_message": "viewed", "user_email": "tech@msp.example"},
        {"resource_type": "AssetPassword", "resource_id": 301, "action_message": "viewed password"},
        {"resource_type": "Article", "resource_id": 403, "action_message": "updated"},
        {"resource_type": "Company", "resource_id": FABRIKAM, "action_message": "viewed"},
        {"resource_type": "Article", "resource_id": 405, "action_message": "created"},
    ]
    activity = [
        {
            "id": 700 + i,
            "user_id": 1,
            "user_email": "tech@msp.example",
            "user_name": "Terry Tech",
            "resource_id": log["resource_id"],
            "resource_type": log["resource_type"],
            "action_message": log["action_message"],
            "created_at": f"2026-01-{20 - i:02d}T12:00:00.000Z",
            "updated_at": f"2026-01-{20 - i:02d}T12:00:00.000Z",
        }
        for i, log in enumerate(logs, start=1)
    ]
    return {
        "companies": companies,
        "asset_layouts": layouts,
        "assets": assets,
        "asset_passwords": passwords,
        "articles": articles,
        "websites": websites,
        "procedures": procedures,
        "activity_logs": activity,
    }
