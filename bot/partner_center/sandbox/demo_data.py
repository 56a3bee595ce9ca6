"""The sandbox's world: who the partner is, reference data for the policies, seeded referrals.

Seeded referrals have fixed ids and ETags, so a demo script or a screenshot stays the same from
one run to the next; their timestamps are relative to the clock, so they always look recent.
Every industry, product, service and solution category is an exact catalog value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from bot.referrals import catalogs
from bot.referrals.lookup import Catalog
from bot.referrals.models import Referral
from bot.referrals.wire import format_utc

__all__ = [
    "AZURE_IP_COSELL_SOLUTIONS",
    "MANAGED_CUSTOMERS",
    "SANDBOX_PARTNER",
    "USD_RATES",
    "demo_referrals",
]

SANDBOX_PARTNER: Mapping[str, str] = MappingProxyType(
    {
        # The organization of the documentation's GET example.
        "organization_id": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "organization_name": "Contoso Company",
        "mpn_id": "4847383",
    }
)

MANAGED_CUSTOMERS: tuple[str, ...] = (
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Adventure Works",
    "Woodgrove",
)
"""Customers Microsoft manages: a customer whose name contains one is matched (managed)."""

AZURE_IP_COSELL_SOLUTIONS: Mapping[str, str] = MappingProxyType(
    {
        "DEAL-123456-XYZ": "Contoso Experience Platform",
        "DEAL-204518-KQT": "Contoso Supply Chain Insights",
        "SOL-33417-AZR": "Fabrikam Retail Analytics on Azure",
        "SOL-48812-NWD": "Northwind Fraud Detection",
    }
)
"""Solutions that are Azure IP co-sell eligible (policy ``isSolutionIncentiveEligible``)."""

USD_RATES: Mapping[str, Decimal] = MappingProxyType(
    {
        code: Decimal(rate)
        for code, rate in {
            "USD": "1",
            "EUR": "1.08",
            "GBP": "1.27",
            "CHF": "1.13",
            "CAD": "0.73",
            "AUD": "0.66",
            "NZD": "0.60",
            "JPY": "0.0067",
            "INR": "0.012",
            "SGD": "0.74",
            "SEK": "0.095",
            "NOK": "0.093",
            "DKK": "0.145",
            "BRL": "0.18",
            "MXN": "0.055",
        }.items()
    }
)
"""US dollars per unit, fixed and illustrative: the service's conversion is not documented."""

_MICROSOFT = {"organizationId": "msft", "organizationName": "Microsoft"}


def _tags(catalog: Catalog[str], *values: str) -> list[dict[str, str]]:
    # Demo data must use the values the API spells exactly; fail loudly if a catalog changes.
    for value in values:
        if value not in catalog:
            raise ValueError(f"{value!r} is not an exact {catalog.name} value")
    return [{"id": value} for value in values]


def _category(value: str) -> dict[str, str]:
    _tags(catalogs.SOLUTIONS, value)
    return {"type": "Category", "id": value, "name": catalogs.SOLUTIONS.label(value)}


def _member(first: str, last: str, email: str, phone: str) -> dict[str, str]:
    return {"firstName": first, "lastName": last, "email": email, "phoneNumber": phone}


def _address(line1: str, city: str, state: str, postal_code: str, country: str) -> dict[str, str]:
    return {
        "addressLine1": line1,
        "addressLine2": "",
        "city": city,
        "state": state,
        "postalCode": postal_code,
        "country": country,
    }


def demo_referrals(now: datetime, partner: Mapping[str, str]) -> list[dict[str, Any]]:
    """The seeded referrals as wire documents, timed relative to ``now``.

    Four arrive from Microsoft (a marketplace-style lead, a marketing-qualified lead, an
    accepted co-sell opportunity and a won one) and two are the partner's own co-sell pair:
    its referral and the linked "Microsoft" referral, which Microsoft has accepted, so the
    pair is eligible for deal registration out of the box.
    """

    def at(days: float) -> str:
        return format_utc(now - timedelta(days=days))

    def ahead(days: float) -> str:
        # Closing dates are whole days, as the API's examples write them.
        day = (now + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
        return format_utc(day)

    jane = _member("Jane", "Doe", "jane.doe@contoso.com", "0000000001")
    raj = _member("Raj", "Patel", "raj.patel@contoso.com", "0000000002")
    northwind_profile = {
        "name": "Northwind Traders",
        "address": _address("2 Harbor Way", "Seattle", "WA", "98104", "US"),
        "size": "251to1000employees",
        "team": [_member("Anika", "Varga", "anika.varga@northwindtraders.com", "2065550143")],
    }
    northwind_details = {
        "notes": "Northwind wants a unified customer experience across its online and physical "
        "stores, built on Contoso Experience Platform running on Azure.",
        "dealValue": 30000,
        "currency": "USD",
        "closingDateTime": ahead(45),
        "requirements": {
            "industries": _tags(catalogs.INDUSTRIES, "Retail & Consumer Goods"),
            "products": _tags(catalogs.PRODUCTS, "Azure"),
            "services": _tags(catalogs.SERVICES, "CustomSolution(ISV)"),
            "solutions": [
                {
                    "type": "Name",
                    "id": "DEAL-123456-XYZ",
                    "name": "Contoso Experience Platform",
                    "publisherName": "Contoso Company",
                    "solutionType": "3P",
                }
            ],
        },
    }
    shared = {
        "consentToToShareInfoWithOthers": True,
        "consentToContact": True,
        "consentToMicrosoftToContactSpecificPartners": True,
        "consentToShareReferralWithMicrosoftSellers": True,
    }
    documents: list[dict[str, Any]] = [
        {
            # The documentation's GET example, with the teams it says real answers carry.
            "id": "c5fbb3b6-be74-4795-9fb5-4324c73fed37",
            "engagementId": "65edc0b5-3485-41b7-a17e-dfa9ef4706e2",
            "name": "Fabrikam - Microsoft 365 training",
            "createdDateTime": at(2),
            "updatedDateTime": at(2),
            "expirationDateTime": at(2 - 14),
            "status": "New",
            "substatus": "Pending",
            "qualification": "Direct",
            "type": "Independent",
            "direction": "Incoming",
            "customerProfile": {
                "name": "Fabrikam Customer Inc",
                "address": _address("One Microsoft Way", "Redmond", "WA", "98052", "US"),
                "size": "51to250employees",
                "team": [_member("Mateo", "Gomez", "mateo.gomez@fabrikam.com", "4255550101")],
                "isMatchingComplete": True,
            },
            "details": {
                "notes": "We are interested in deploying Microsoft 365 and are looking for "
                "support in training our employees. Can you help?",
                "dealValue": 10000,
                "currency": "USD",
                "closingDateTime": ahead(30),
                "requirements": {
                    "industries": _tags(catalogs.INDUSTRIES, "Education"),
                    "products": _tags(catalogs.PRODUCTS, "Microsoft365"),
                    "services": _tags(catalogs.SERVICES, "LearningAndCertification"),
                    "solutions": [{"id": "SOL-Microsoft365", "name": "Microsoft365"}],
                },
            },
            "team": [],
            "inviteContext": {"invitedBy": _MICROSOFT},
        },
        {
            "id": "3f2a7c1e-8d4b-4e6f-9a10-2b5c7d9e1f01",
            "engagementId": "a1b2c3d4-0001-4a5b-8c6d-7e8f9a0b1c01",
            "name": "Adventure Works - connected factory",
            "createdDateTime": at(1),
            "updatedDateTime": at(1),
            "expirationDateTime": at(1 - 14),
            "status": "New",
            "substatus": "Pending",
            "qualification": "MarketingQualified",
            "type": "Independent",
            "direction": "Incoming",
            "customerProfile": {
                "name": "Adventure Works Cycles",
                "address": _address("Lindenstrasse 12", "Munich", "BY", "80331", "DE"),
                "size": "1001to5000employees",
                "team": [_member("Lukas", "Berger", "lukas.berger@adventure-works.com", "")],
                "isMatchingComplete": True,
            },
            "details": {
                "notes": "Downloaded the connected-factory e-book; wants sensor data from three "
                "plants in one dashboard.",
                "dealValue": 45000,
                "currency": "EUR",
                "closingDateTime": ahead(90),
                "requirements": {
                    "industries": _tags(catalogs.INDUSTRIES, "Manufacturing"),
                    "products": _tags(catalogs.PRODUCTS, "Azure", "PowerBI"),
                    "services": _tags(catalogs.SERVICES, "ConsultingAndProfessional"),
                    "solutions": [_category("InternetofThings")],
                },
            },
            "team": [],
            "inviteContext": {
                "notes": "Marketing-qualified lead from the Manufacturing campaign.",
                "invitedBy": _MICROSOFT,
            },
        },
        {
            "id": "7b9d2e4f-6a8c-4b1d-8e3f-5a7c9e1b3d02",
            "engagementId": "a1b2c3d4-0002-4a5b-8c6d-7e8f9a0b1c02",
            "name": "Tailwind Traders - store modernization",
            "createdDateTime": at(10),
            "updatedDateTime": at(9),
            "acceptedDateTime": at(9),
            "status": "Active",
            "substatus": "Accepted",
            "qualification": "SalesQualified",
            "type": "Shared",
            "direction": "Incoming",
            "customerProfile": {
                "name": "Tailwind Traders",
                "address": _address("400 Pine Street", "Chicago", "IL", "60601", "US"),
                "size": "5001to10000employees",
                "team": [_member("Grace", "Kim", "grace.kim@tailwindtraders.com", "3125550177")],
                "isMatchingComplete": False,
            },
            "consent": shared,
            "details": {
                "notes": "Replace the point-of-sale and loyalty systems in 120 stores.",
                "dealValue": 120000,
                "currency": "USD",
                "closingDateTime": ahead(60),
                "requirements": {
                    "industries": _tags(catalogs.INDUSTRIES, "Retail & Consumer Goods"),
                    "products": _tags(catalogs.PRODUCTS, "Dynamics365Enterprise", "Azure"),
                    "services": _tags(catalogs.SERVICES, "DeploymentOrMigration"),
                    "solutions": [_category("Dynamics365forRetail")],
                },
            },
            "team": [jane],
            "inviteContext": {
                "notes": "The account team is looking for a Dynamics 365 Commerce partner.",
                "invitedBy": _MICROSOFT,
            },
        },
        {
            "id": "9c1e3a5b-7d9f-4c2e-8a4b-6c8e0a2c4e03",
            "engagementId": "a1b2c3d4-0003-4a5b-8c6d-7e8f9a0b1c03",
            "name": "Woodgrove Bank - secure collaboration",
            "createdDateTime": at(60),
            "updatedDateTime": at(5),
            "acceptedDateTime": at(58),
            "closedDateTime": at(5),
            "status": "Closed",
            "substatus": "Won",
            "statusReason": "Signed a three-year agreement.",
            "qualification": "SalesQualified",
            "type": "Shared",
            "direction": "Incoming",
            "customerProfile": {
                "name": "Woodgrove Bank",
                "address": _address("1 Threadneedle Walk", "London", "", "EC2R 8AH", "GB"),
                "size": "Morethan20000employees",
                "team": [_member("Oliver", "Hughes", "oliver.hughes@woodgrovebank.com", "")],
                "isMatchingComplete": True,
            },
            "consent": shared,
            "details": {
                "notes": "Teams rollout with information protection for 25,000 employees.",
                "dealValue": 250000,
                "currency": "GBP",
                "closingDateTime": at(5),
                "requirements": {
                    "industries": _tags(catalogs.INDUSTRIES, "Financial Services"),
                    "products": _tags(catalogs.PRODUCTS, "Microsoft365", "Teams"),
                    "services": _tags(
                        catalogs.SERVICES, "DeploymentOrMigration", "ManagedServices"
                    ),
                    "solutions": [_category("ThreatProtection")],
                },
            },
            "team": [jane, raj],
            "inviteContext": {"invitedBy": _MICROSOFT},
        },
        {
            "id": "5e7a9c1d-3f5b-4d7e-9b1c-3e5a7c9e1b04",
            "engagementId": "a1b2c3d4-0004-4a5b-8c6d-7e8f9a0b1c04",
            "name": "Northwind Traders - Contoso Experience Platform",
            "createdDateTime": at(20),
            "updatedDateTime": at(20),
            "acceptedDateTime": at(20),
            "status": "Active",
            "substatus": "Accepted",
            "qualification": "SalesQualified",
            "type": "Shared",
            "direction": "Outgoing",
            "customerProfile": {**northwind_profile, "isMatchingComplete": True},
            "consent": shared,
            "details": northwind_details,
            "team": [raj],
            "target": [{"type": "SolutionProfile", "id": "DEAL-123456-XYZ"}],
            "registrationStatus": "None",
        },
        {
            "id": "1d3f5b7e-9a1c-4e3f-8d5b-7a9c1e3f5d05",
            "engagementId": "a1b2c3d4-0004-4a5b-8c6d-7e8f9a0b1c04",
            "name": "Northwind Traders - Contoso Experience Platform (Microsoft)",
            "createdDateTime": at(20),
            "updatedDateTime": at(18),
            "acceptedDateTime": at(18),
            "status": "Active",
            "substatus": "Accepted",
            "qualification": "SalesQualified",
            "type": "Shared",
            "direction": "Outgoing",
            "customerProfile": {**northwind_profile, "isMatchingComplete": True},
            "consent": shared,
            "details": northwind_details,
            "team": [raj],
            "target": [{"type": "BusinessProfileLocation", "id": "msft"}],
            "inviteContext": {
                "notes": "Customer needs an Azure architecture review before signing.",
                "assistanceRequestCode": "CustomerTechnicalArchitecture",
            },
        },
    ]
    seeded = []
    for document in documents:
        document.update(partner)
        document["eTag"] = f'"{uuid.uuid5(uuid.NAMESPACE_URL, document["id"])}"'
        # Through the model, so seeds are as valid and as canonical as anything stored.
        seeded.append(Referral.from_wire(document).to_wire())
    return seeded
