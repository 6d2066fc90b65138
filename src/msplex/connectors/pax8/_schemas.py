"""JSON schemas of the Pax8 records the tools return (the fields each keeps) and of shared inputs."""

from __future__ import annotations

from msplex.connectors.framework import JSON
from msplex.connectors.framework.schema import UUID, record

__all__ = [
    "COMPANY",
    "COMPANY_ID",
    "CONTACT",
    "HISTORY",
    "INVOICE",
    "INVOICE_ITEM",
    "ORDER",
    "PRICING",
    "PRODUCT",
    "SUBSCRIPTION",
    "USAGE_LINE",
    "USAGE_SUMMARY",
    "id_of",
]

COMPANY_ID: JSON = {**UUID, "description": "The Pax8 company (list_companies); a customer-bound call may omit it."}


def id_of(noun: str) -> JSON:
    return {**UUID, "description": f"The {noun}'s Pax8 id (a UUID)."}


COMPANY = record(
    id="s", name="s", address="o", phone="s", website="s", externalId="s", billOnBehalfOfEnabled="b",
    selfServiceAllowed="b", orderApprovalRequired="b", status="s", updatedDate="s",
)  # fmt: skip
CONTACT = record(id="s", companyId="s", firstName="s", lastName="s", email="s", phone="s", createdDate="s", types="a")
PRODUCT = record(id="s", name="s", vendorName="s", shortDescription="s", sku="s", vendorSku="s", requiresCommitment="b")
PRICING = record(productId="s", productName="s", billingTerm="s", type="s", unitOfMeasurement="s", rates="a")
SUBSCRIPTION = record(
    id="s", companyId="s", productId="s", quantity="i", startDate="s", endDate="s", createdDate="s", updatedDate="s",
    billingStart="s", status="s", price="n", currencyCode="s", billingTerm="s", provisioningDetails="a",
)  # fmt: skip
HISTORY = record(id="s", subscriptionId="s", action="s", quantity="i", status="s", price="n", createdDate="s")
USAGE_SUMMARY = record(
    id="s", subscriptionId="s", companyId="s", productId="s", resourceGroup="s", vendorName="s", currentCharges="n",
    partnerTotal="n", isTrial="b",
)  # fmt: skip
USAGE_LINE = record(
    id="s", usageSummaryId="s", usageDate="s", productName="s", unitOfMeasure="s", quantity="n", currentCharges="n"
)
ORDER = record(id="s", companyId="s", createdDate="s", orderedBy="s", orderedByUserEmail="s", isMock="b", lineItems="a")
INVOICE = record(
    id="s", invoiceDate="s", dueDate="s", status="s", total="n", balance="n", carriedBalance="n", partnerName="s"
)
INVOICE_ITEM = record(
    id="s", companyId="s", subscriptionId="s", productId="s", productName="s", quantity="n", price="n", total="n",
    startPeriod="s", endPeriod="s",
)  # fmt: skip
