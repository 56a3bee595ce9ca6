"""Every enumeration the Referrals API documents, as data.

Values are spelt exactly as the API sends and accepts them. The catalogs below the
enums look values up by case, spacing and name variants (see :mod:`bot.referrals.lookup`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import pycountry

from bot.referrals.lookup import Catalog, camel_label


class ReferralStatus(StrEnum):
    """Where a referral is in its life (``status``)."""

    NONE = "None"
    NEW = "New"
    ACTIVE = "Active"
    CLOSED = "Closed"


class ReferralSubstatus(StrEnum):
    """The finer state within a status (``substatus``)."""

    NONE = "None"
    PENDING = "Pending"
    RECEIVED = "Received"
    ACCEPTED = "Accepted"
    WON = "Won"
    LOST = "Lost"
    DECLINED = "Declined"
    EXPIRED = "Expired"
    ERROR = "Error"


class ReferralType(StrEnum):
    """Indicative only: the service derives the real deal type from consent and invite context."""

    INDEPENDENT = "Independent"
    SHARED = "Shared"


class ReferralQualification(StrEnum):
    """Where the referral came from and how well it was qualified."""

    NONE = "None"
    DIRECT = "Direct"
    MARKETING_QUALIFIED = "MarketingQualified"
    SALES_QUALIFIED = "SalesQualified"


class SolutionType(StrEnum):
    """How a solution tag references a solution."""

    NONE = "None"
    CATEGORY = "Category"
    NAME = "Name"


class TargetType(StrEnum):
    """What a referral target points at."""

    NONE = "None"
    BUSINESS_PROFILE_LOCATION = "BusinessProfileLocation"
    SOLUTION_PROFILE = "SolutionProfile"


class Direction(StrEnum):
    """Whether the referral was received or sent by this partner."""

    INCOMING = "Incoming"
    OUTGOING = "Outgoing"


class AssistanceRequestCode(StrEnum):
    """The help asked of Microsoft on a co-sell referral.

    Sent as ``inviteContext.assistanceRequestCode``.
    """

    UNKNOWN = "Unknown"
    GENERAL_OR_OTHER = "GeneralOrOther"
    CUSTOMER_TECHNICAL_ARCHITECTURE = "CustomerTechnicalArchitecture"
    PROOF_OF_CONCEPT_OR_DEMO = "ProofOfConceptOrDemo"
    QUOTES_OR_LICENSING = "QuotesOrLicensing"
    POST_SALES_CUSTOMER_SUCCESS = "PostSalesCustomerSuccess"
    WORKLOAD_SPECIFIC_VALUE_PROPOSITION = "WorkloadSpecificValueProposition"


# --- Catalogs -------------------------------------------------------------------------
# Lenient lookups (see bot.referrals.lookup) over the enums above and over the lists the
# API documents only as strings. Values are transcribed exactly; aliases and labels are
# for people.

_PRODUCTS = (
    "Azure",
    "EnterpriseMobilityAndSecurity",
    "Exchange",
    "DeveloperTools",
    "Dynamics365Business",
    "Dynamics365Enterprise",
    "DynamicsAX,GP,NAV,SL",
    "Microsoft365",
    "Office",
    "PowerBI",
    "Project",
    "SharePoint",
    "SkypeForBusiness",
    "Surface",
    "SurfaceHub",
    "SQL",
    "Teams",
    "Visio",
    "Windows",
    "Yammer",
)
PRODUCTS: Catalog[str] = Catalog(
    "product",
    _PRODUCTS,
    aliases={
        "EMS": "EnterpriseMobilityAndSecurity",
        "Dynamics AX": "DynamicsAX,GP,NAV,SL",
        "Dynamics GP": "DynamicsAX,GP,NAV,SL",
        "Dynamics NAV": "DynamicsAX,GP,NAV,SL",
        "Dynamics SL": "DynamicsAX,GP,NAV,SL",
        "M365": "Microsoft365",
        "Microsoft Teams": "Teams",
        "SQL Server": "SQL",
    },
    labels={
        **{value: camel_label(value) for value in _PRODUCTS},
        "SharePoint": "SharePoint",  # a brand, not "Share Point"
    },
)

_SERVICES = (
    "ConsultingAndProfessional",
    "CustomSolution(ISV)",
    "DeploymentOrMigration",
    "Hardware",
    "Integration",
    "IPServices(ISV)",
    "LearningAndCertification",
    "Licensing",
    "ManagedServices",
    "ProjectServices",
)
SERVICES: Catalog[str] = Catalog(
    "service",
    _SERVICES,
    aliases={
        "Consulting": "ConsultingAndProfessional",
        "Custom Solution": "CustomSolution(ISV)",
        "Deployment": "DeploymentOrMigration",
        "Migration": "DeploymentOrMigration",
        "IP Services": "IPServices(ISV)",
    },
    labels={value: camel_label(value) for value in _SERVICES},
)

INDUSTRIES: Catalog[str] = Catalog(
    "industry",
    (
        "Agriculture, Forestry, & Fishing",
        "Communications & Media",
        "Education",
        "Financial Services",
        "Government",
        "Healthcare",
        "Hospitality",
        "Manufacturing",
        "Power & Utilities",
        "Public Safety and National Security",
        "Retail & Consumer Goods",
        "Services",
        "Travel & Transportation",
        "Wholesale & Distribution",
    ),
    aliases={
        "Agriculture": "Agriculture, Forestry, & Fishing",
        "Communications": "Communications & Media",
        "Media": "Communications & Media",
        "Utilities": "Power & Utilities",
        "Public Safety": "Public Safety and National Security",
        "National Security": "Public Safety and National Security",
        "Retail": "Retail & Consumer Goods",
        "Consumer Goods": "Retail & Consumer Goods",
        "Travel": "Travel & Transportation",
        "Transportation": "Travel & Transportation",
        "Wholesale": "Wholesale & Distribution",
        "Distribution": "Wholesale & Distribution",
    },
)

# Run-together lower-case words ("DatabaseonLinux") defeat camel_label, so these are
# spelt out; each label has the same lookup key as its value.
_SOLUTION_LABELS = {
    "AdvancedAnalytics": "Advanced Analytics",
    "ApplicationIntegration": "Application Integration",
    "ArtificialIntelligence": "Artificial Intelligence",
    "AzureSecurityOperationManagement": "Azure Security Operation Management",
    "AzureStack": "Azure Stack",
    "BackupDisasterRecovery": "Backup Disaster Recovery",
    "BigData": "Big Data",
    "Blockchain": "Blockchain",
    "Chatbot": "Chatbot",
    "CloudDatabaseMigration": "Cloud Database Migration",
    "CloudMigration": "Cloud Migration",
    "CloudVoice": "Cloud Voice",
    "CognitiveServices": "Cognitive Services",
    "CompetitiveDatabaseMigration": "Competitive Database Migration",
    "Containers": "Containers",
    "DataWarehouse": "Data Warehouse",
    "DatabaseonLinux": "Database on Linux",
    "DevelopmentandTest": "Development and Test",
    "DevOps": "DevOps",
    "DigitalMedia": "Digital Media",
    "Dynamics365forCustomerService": "Dynamics 365 for Customer Service",
    "Dynamics365forFieldService": "Dynamics 365 for Field Service",
    "Dynamics365forFinanceOperations": "Dynamics 365 for Finance Operations",
    "Dynamics365forRetail": "Dynamics 365 for Retail",
    "Dynamics365forSales": "Dynamics 365 for Sales",
    "Dynamics365forTalent": "Dynamics 365 for Talent",
    "DynamicsonAzure": "Dynamics on Azure",
    "EnterpriseBusinessIntelligence": "Enterprise Business Intelligence",
    "Gaming": "Gaming",
    "HighPerformanceComputing": "High Performance Computing",
    "HybridStorage": "Hybrid Storage",
    "IdentityandAccessManagement": "Identity and Access Management",
    "InformationManagement": "Information Management",
    "InternetofThings": "Internet of Things",
    "MachineLearning": "Machine Learning",
    "Microserviceapplications": "Microservice Applications",
    "MobileApplications": "Mobile Applications",
    "MySQLPostgresMigrationtoAzure": "MySQL Postgres Migration to Azure",
    "Networking": "Networking",
    "NoSQLMigration": "NoSQL Migration",
    "RedhatonAzure": "Red Hat on Azure",
    "RegulatoryComplianceGDPR": "Regulatory Compliance GDPR",
    "SAPonAzure": "SAP on Azure",
    "ServerlessComputing": "Serverless Computing",
    "SharepointonAzure": "SharePoint on Azure",
    "SQLServerUpgrade": "SQL Server Upgrade",
    "ThreatProtection": "Threat Protection",
    "WebDevelopment": "Web Development",
}
SOLUTIONS: Catalog[str] = Catalog(
    "solution",
    _SOLUTION_LABELS,
    aliases={
        "Dynamics 365 for Finance and Operations": "Dynamics365forFinanceOperations",
        "IoT": "InternetofThings",
        "HPC": "HighPerformanceComputing",
    },
    labels=_SOLUTION_LABELS,
)

# Both the older three-band and the newer eight-band sizes are valid.
_CUSTOMER_SIZE_LABELS = {
    "1to50employees": "1 to 50 employees",
    "51to500employees": "51 to 500 employees",
    "Morethan500employees": "More than 500 employees",
    "1to9employees": "1 to 9 employees",
    "10to50employees": "10 to 50 employees",
    "51to250employees": "51 to 250 employees",
    "251to1000employees": "251 to 1,000 employees",
    "1001to5000employees": "1,001 to 5,000 employees",
    "5001to10000employees": "5,001 to 10,000 employees",
    "10001to20000employees": "10,001 to 20,000 employees",
    "Morethan20000employees": "More than 20,000 employees",
}
CUSTOMER_SIZES: Catalog[str] = Catalog(
    "customer size",
    _CUSTOMER_SIZE_LABELS,
    aliases={
        # Hyphens and dashes are ignored, so "1-50 employees" is matched as "150employees".
        "1-50 employees": "1to50employees",
        "51-500 employees": "51to500employees",
        "500+ employees": "Morethan500employees",
        "Over 500 employees": "Morethan500employees",
        "1-9 employees": "1to9employees",
        "10-50 employees": "10to50employees",
        "51-250 employees": "51to250employees",
        "251-1000 employees": "251to1000employees",
        "1001-5000 employees": "1001to5000employees",
        "5001-10000 employees": "5001to10000employees",
        "10001-20000 employees": "10001to20000employees",
        "20000+ employees": "Morethan20000employees",
        "Over 20000 employees": "Morethan20000employees",
    },
    labels=_CUSTOMER_SIZE_LABELS,
)

PARTNER_ROLES: Catalog[str] = Catalog(
    "partner role",
    (
        "Presales envisioning",
        "Solution design",
        "Proof of concept",
        "Business strategy",
        "Deployment services",
        "Adoption and change management",
        "Transaction",
        "Managed services",
    ),
    aliases={"POC": "Proof of concept"},
)

# FY25 Solution Area -> Solution Play. "Build and Modernize AI Apps" is under two areas.
_SOLUTION_PLAYS = {
    "Business Applications": (
        "Accelerate Innovation with Low Code",
        "Accelerate Revenue Generation",
        "Modernize Service",
        "Optimize Finance and Supply Chain",
        "SMB Scale Business Operations",
    ),
    "Data and AI": (
        "Power Business Decisions with Cloud Scale Analytics",
        "Build and Modernize AI Apps",
    ),
    "Digital and Application Innovation": (
        "Migrate Enterprise Apps",
        "Build and Modernize AI Apps",
        "Accelerate Developer Productivity",
        "Accelerate Innovation with Integration Services",
    ),
    "Infrastructure": (
        "Migrate and Secure Windows Server and SQL Server",
        "Migrate SAP",
        "Innovate with HPC, AI Infrastructure",
        "Migrate Linux Estate",
        "Migrate Oracle",
    ),
    "Modern Work": (
        "Frontline Workers",
        "Employee Experience",
        "Secure Productivity",
        "Converged Communications",
        "Cloud Endpoints",
        "Modernize with Surface",
    ),
    "Security": (
        "Threat protection with XDR and SIEM",
        "Multicloud Security",
        "Data Security",
        "Data Governance",
        "Modern Sec Ops",
        "Secure Identity and takeout Okta and Ping",
    ),
    "Unified Support": (
        "Build a Strong Foundation with Unified",
        "Drive Cloud Success with Enhanced Solutions",
    ),
}
SOLUTION_AREAS: Catalog[str] = Catalog(
    "solution area",
    _SOLUTION_PLAYS,
    aliases={
        "Business Apps": "Business Applications",
        "BizApps": "Business Applications",
        "Digital and App Innovation": "Digital and Application Innovation",
        "Infra": "Infrastructure",
        "Modern Workplace": "Modern Work",
    },
)
SOLUTION_PLAYS: Mapping[str, Catalog[str]] = MappingProxyType(
    {area: Catalog(f"{area} solution play", plays) for area, plays in _SOLUTION_PLAYS.items()}
)


def plays_for(area: str) -> Catalog[str]:
    """Return the solution plays of *area*, which may be any spelling SOLUTION_AREAS accepts.

    Raises :class:`~bot.referrals.lookup.UnknownValue` for an unknown area.
    """
    return SOLUTION_PLAYS[SOLUTION_AREAS.lookup(area)]


ASSISTANCE_REQUEST_CODES: Catalog[AssistanceRequestCode] = Catalog(
    "assistance request",
    AssistanceRequestCode,
    labels={code: camel_label(code) for code in AssistanceRequestCode},
)

SALES_STAGES: Catalog[str] = Catalog("sales stage", ("Qualify", "Develop", "Propose", "Close"))

STATUSES: Catalog[ReferralStatus] = Catalog("status", ReferralStatus)
SUBSTATUSES: Catalog[ReferralSubstatus] = Catalog("substatus", ReferralSubstatus)
REFERRAL_TYPES: Catalog[ReferralType] = Catalog("referral type", ReferralType)
QUALIFICATIONS: Catalog[ReferralQualification] = Catalog(
    "qualification",
    ReferralQualification,
    labels={value: camel_label(value) for value in ReferralQualification},
)
SOLUTION_TYPES: Catalog[SolutionType] = Catalog("solution type", SolutionType)
TARGET_TYPES: Catalog[TargetType] = Catalog(
    "target type",
    TargetType,
    labels={value: camel_label(value) for value in TargetType},
)
DIRECTIONS: Catalog[Direction] = Catalog("direction", Direction)


# ISO 3166-1 alpha-2 and ISO 4217 codes, built at import: the ISO tables keep the whole
# module's import near 40 ms, so building them lazily is not worth a different API.
_COUNTRY_RECORDS = tuple(pycountry.countries)
COUNTRIES: Catalog[str] = Catalog(
    "country",
    [record.alpha_2 for record in _COUNTRY_RECORDS],
    aliases={
        **{
            getattr(record, field): record.alpha_2
            for record in _COUNTRY_RECORDS
            for field in ("alpha_3", "name", "official_name", "common_name")
            if getattr(record, field, None)
        },
        "UK": "GB",
        "Britain": "GB",
        "Great Britain": "GB",
        "Russia": "RU",
        "Turkey": "TR",
        "Czech Republic": "CZ",
        "Ivory Coast": "CI",
    },
    labels={
        record.alpha_2: getattr(record, "common_name", None) or record.name
        for record in _COUNTRY_RECORDS
    },
)

_CURRENCY_RECORDS = tuple(pycountry.currencies)
CURRENCIES: Catalog[str] = Catalog(
    "currency",
    [record.alpha_3 for record in _CURRENCY_RECORDS],
    aliases={
        **{record.name: record.alpha_3 for record in _CURRENCY_RECORDS},
        # VES and the digital VED share the name; the name means the everyday VES.
        "Bolívar Soberano": "VES",
        "British Pound": "GBP",
        "Sterling": "GBP",
        "Japanese Yen": "JPY",
        "Chinese Yuan": "CNY",
        "Renminbi": "CNY",
    },
    labels={record.alpha_3: record.name for record in _CURRENCY_RECORDS},
)


# -- catalogs by id -------------------------------------------------------------------------
# A card names the catalog it offers by id (its name), so that a renderer can list it for a
# type-ahead and label a pick without knowing which question asked for it.

OFFERED: Mapping[str, Catalog[str]] = MappingProxyType(
    {
        catalog.name: catalog
        for catalog in (
            COUNTRIES,
            CURRENCIES,
            CUSTOMER_SIZES,
            INDUSTRIES,
            PRODUCTS,
            SERVICES,
            SOLUTIONS,
            PARTNER_ROLES,
            SOLUTION_AREAS,
            SALES_STAGES,
            *SOLUTION_PLAYS.values(),
        )
    }
)
"""The catalogs a conversation offers choices from, by id (the catalog's name)."""

_IDS: Mapping[Catalog[str], str] = MappingProxyType(
    {catalog: catalog_id for catalog_id, catalog in OFFERED.items()}
)


def catalog_id(catalog: Catalog[str]) -> str | None:
    """The id :data:`OFFERED` knows ``catalog`` by, or None for a catalog it does not hold."""
    return _IDS.get(catalog)


def by_id(catalog_id: str) -> Catalog[str] | None:
    """The offered catalog with this id, or None."""
    return OFFERED.get(catalog_id)
