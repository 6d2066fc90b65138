"""The Pax8 fake's starting data: two companies (Acme, Globex), five products, twelve subscriptions (two pages of 10).

Ids are UUIDs (stable: ``uuid5`` of a name), as Pax8's are.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["ACME", "GLOBEX", "Record", "Store", "pid", "seed"]

Record = dict[str, Any]
Store = dict[str, dict[str, Record]]
_NS = uuid.UUID("6f0b4c1e-8d4e-4f7a-9a53-5d0f1c2b3a49")


def pid(name: str) -> str:
    """The stable id the seed gives ``name``."""
    return str(uuid.uuid5(_NS, name))


ACME = pid("company:acme")
GLOBEX = pid("company:globex")
_T0 = "2026-11-02T09:00:00.000Z"


def seed() -> Store:
    companies = {
        ACME: _company(ACME, "Acme Corporation", "Springfield"),
        GLOBEX: _company(GLOBEX, "Globex Ltd", "Cypress Creek"),
    }
    contacts = {
        pid("contact:wile"): _contact("wile", ACME, "Wile", "Coyote", "Admin"),
        pid("contact:road"): _contact("road", ACME, "Road", "Runner", "Billing"),
        pid("contact:hank"): _contact("hank", GLOBEX, "Hank", "Scorpio", "Admin"),
    }
    products = {
        p["id"]: p
        for p in (
            _product(
                "m365-basic", "Microsoft 365 Business Basic", "Microsoft", "CFQ7TTC0LH18", 6.0, ("Monthly", "Annual")
            ),
            _product(
                "m365-premium",
                "Microsoft 365 Business Premium",
                "Microsoft",
                "CFQ7TTC0LCHC",
                22.0,
                ("Monthly", "Annual"),
            ),
            _product(
                "exchange-p1", "Exchange Online (Plan 1)", "Microsoft", "CFQ7TTC0LH16", 4.0, ("Monthly", "Annual")
            ),
            _product("acronis", "Acronis Cyber Protect Cloud", "Acronis", "ACR-CPC", 0.0, ("Monthly",), usage=True),
            _product("duo-mfa", "Duo MFA", "Cisco", "DUO-MFA", 3.0, ("Monthly", "Annual"), provisioning=False),
        )
    }
    subscriptions: dict[str, Record] = {}
    plan = [
        (ACME, "m365-basic", 25),
        (ACME, "m365-premium", 5),
        (ACME, "exchange-p1", 3),
        (ACME, "acronis", 1),
        (ACME, "duo-mfa", 30),
        (ACME, "m365-basic", 2),
        (ACME, "exchange-p1", 1),
        (ACME, "duo-mfa", 4),
        (ACME, "m365-premium", 1),
        (GLOBEX, "m365-premium", 12),
        (GLOBEX, "acronis", 1),
        (GLOBEX, "duo-mfa", 12),
    ]
    for n, (company, product, quantity) in enumerate(plan):
        sid = pid(f"subscription:{n}")
        subscriptions[sid] = _subscription(sid, company, products[pid(f"product:{product}")], quantity)
    usage = {
        pid(f"usage:{s['id']}"): {
            "id": pid(f"usage:{s['id']}"),
            "subscriptionId": s["id"],
            "companyId": s["companyId"],
            "productId": s["productId"],
            "resourceGroup": "Backup storage",
            "vendorName": "Acronis",
            "currentCharges": 41.5,
            "partnerTotal": 33.2,
            "isTrial": False,
        }
        for s in subscriptions.values()
        if s["productId"] == pid("product:acronis")
    }
    lines = {
        pid(f"line:{u}:{day}"): {
            "id": pid(f"line:{u}:{day}"),
            "usageSummaryId": u,
            "usageDate": f"2026-11-{day:02d}",
            "productName": "Acronis Cyber Protect Cloud",
            "unitOfMeasure": "GB",
            "quantity": 100 + day,
            "currentCharges": 1.3,
        }
        for u in usage
        for day in range(1, 4)
    }
    orders = {
        pid("order:1"): _order("order:1", ACME, [s for s in subscriptions.values() if s["companyId"] == ACME][:1]),
        pid("order:2"): _order("order:2", GLOBEX, [s for s in subscriptions.values() if s["companyId"] == GLOBEX][:1]),
    }
    invoices = {pid("invoice:2026-10"): _invoice(subscriptions, products)}
    return {
        "companies": companies,
        "contacts": contacts,
        "products": products,
        "subscriptions": subscriptions,
        "usage": usage,
        "usage_lines": lines,
        "orders": orders,
        "invoices": invoices,
        "history": {},
    }


def _company(cid: str, name: str, city: str) -> Record:
    return {
        "id": cid,
        "name": name,
        "address": {
            "street": "1 Main St",
            "city": city,
            "postalCode": "12345",
            "country": "US",
            "stateOrProvince": "CO",
        },
        "phone": "555-0100",
        "website": f"https://{name.split()[0].lower()}.example",
        "externalId": None,
        "billOnBehalfOfEnabled": False,
        "selfServiceAllowed": False,
        "orderApprovalRequired": False,
        "status": "Active",
        "updatedDate": _T0,
    }


def _contact(key: str, company: str, first: str, last: str, kind: str) -> Record:
    return {
        "id": pid(f"contact:{key}"),
        "companyId": company,
        "firstName": first,
        "lastName": last,
        "email": f"{first.lower()}@example.com",
        "phone": "555-0101",
        "createdDate": _T0,
        "types": [{"type": kind, "primary": True}],
    }


def _product(
    key: str,
    name: str,
    vendor: str,
    sku: str,
    price: float,
    terms: tuple[str, ...],
    *,
    usage: bool = False,
    provisioning: bool = True,
) -> Record:
    return {
        "id": pid(f"product:{key}"),
        "name": name,
        "vendorName": vendor,
        "shortDescription": f"{name} from {vendor}",
        "sku": sku,
        "vendorSku": sku,
        "requiresCommitment": False,
        "_price": price,
        "_terms": list(terms),
        "_usageBased": usage,
        "_provisioning": ["tenantDomain"] if provisioning and vendor == "Microsoft" else [],
    }


def _subscription(sid: str, company: str, product: Record, quantity: int) -> Record:
    return {
        "id": sid,
        "partnerId": pid("partner"),
        "companyId": company,
        "productId": product["id"],
        "quantity": quantity,
        "startDate": "2026-01-01T00:00:00.000Z",
        "endDate": None,
        "createdDate": _T0,
        "updatedDate": _T0,
        "billingStart": "2026-01-01T00:00:00.000Z",
        "status": "Active",
        "price": product["_price"],
        "currencyCode": "USD",
        "billingTerm": product["_terms"][0],
        "provisioningDetails": [],
    }


def _order(key: str, company: str, subscriptions: list[Record]) -> Record:
    return {
        "id": pid(key),
        "companyId": company,
        "createdDate": _T0,
        "orderedBy": "Pax8 Partner",
        "orderedByUserEmail": "ops@msp.example",
        "lineItems": [
            {
                "id": pid(f"{key}:line:{n}"),
                "productId": s["productId"],
                "subscriptionId": s["id"],
                "lineItemNumber": n + 1,
                "billingTerm": s["billingTerm"],
                "quantity": s["quantity"],
                "provisioningDetails": [],
            }
            for n, s in enumerate(subscriptions)
        ],
    }


def _invoice(subscriptions: dict[str, Record], products: dict[str, Record]) -> Record:
    items = [
        {
            "id": pid(f"item:{s['id']}"),
            "companyId": s["companyId"],
            "subscriptionId": s["id"],
            "productId": s["productId"],
            "productName": products[s["productId"]]["name"],
            "quantity": s["quantity"],
            "price": s["price"],
            "total": round(s["price"] * s["quantity"], 2),
            "startPeriod": "2026-10-01",
            "endPeriod": "2026-10-31",
        }
        for s in subscriptions.values()
    ]
    total = round(sum(i["total"] for i in items), 2)
    return {
        "id": pid("invoice:2026-10"),
        "invoiceDate": "2026-11-01",
        "dueDate": "2026-12-01",
        "status": "Unpaid",
        "total": total,
        "balance": total,
        "carriedBalance": 0.0,
        "partnerName": "MSPlex Demo MSP",
        "_items": items,
    }
