"""The Referrals API catalogs: every documented value present and found leniently."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.referrals import catalogs
from bot.referrals.catalogs import (
    ASSISTANCE_REQUEST_CODES,
    COUNTRIES,
    CURRENCIES,
    CUSTOMER_SIZES,
    DIRECTIONS,
    INDUSTRIES,
    PARTNER_ROLES,
    PRODUCTS,
    QUALIFICATIONS,
    REFERRAL_TYPES,
    SALES_STAGES,
    SERVICES,
    SOLUTION_AREAS,
    SOLUTION_PLAYS,
    SOLUTION_TYPES,
    SOLUTIONS,
    STATUSES,
    SUBSTATUSES,
    TARGET_TYPES,
    AssistanceRequestCode,
    Direction,
    ReferralQualification,
    ReferralStatus,
    ReferralSubstatus,
    ReferralType,
    SolutionType,
    TargetType,
    plays_for,
)
from bot.referrals.lookup import Catalog, UnknownValue

from .test_lookup import respelt

# Transcribed from the Referral resources tables, independently of the module under test.
SEED_PRODUCTS = (
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
SEED_SERVICES = (
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
SEED_INDUSTRIES = (
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
)
SEED_SOLUTIONS = (
    "AdvancedAnalytics",
    "ApplicationIntegration",
    "ArtificialIntelligence",
    "AzureSecurityOperationManagement",
    "AzureStack",
    "BackupDisasterRecovery",
    "BigData",
    "Blockchain",
    "Chatbot",
    "CloudDatabaseMigration",
    "CloudMigration",
    "CloudVoice",
    "CognitiveServices",
    "CompetitiveDatabaseMigration",
    "Containers",
    "DataWarehouse",
    "DatabaseonLinux",
    "DevelopmentandTest",
    "DevOps",
    "DigitalMedia",
    "Dynamics365forCustomerService",
    "Dynamics365forFieldService",
    "Dynamics365forFinanceOperations",
    "Dynamics365forRetail",
    "Dynamics365forSales",
    "Dynamics365forTalent",
    "DynamicsonAzure",
    "EnterpriseBusinessIntelligence",
    "Gaming",
    "HighPerformanceComputing",
    "HybridStorage",
    "IdentityandAccessManagement",
    "InformationManagement",
    "InternetofThings",
    "MachineLearning",
    "Microserviceapplications",
    "MobileApplications",
    "MySQLPostgresMigrationtoAzure",
    "Networking",
    "NoSQLMigration",
    "RedhatonAzure",
    "RegulatoryComplianceGDPR",
    "SAPonAzure",
    "ServerlessComputing",
    "SharepointonAzure",
    "SQLServerUpgrade",
    "ThreatProtection",
    "WebDevelopment",
)
SEED_CUSTOMER_SIZES = (
    "1to50employees",
    "51to500employees",
    "Morethan500employees",
    "1to9employees",
    "10to50employees",
    "51to250employees",
    "251to1000employees",
    "1001to5000employees",
    "5001to10000employees",
    "10001to20000employees",
    "Morethan20000employees",
)
SEED_PARTNER_ROLES = (
    "Presales envisioning",
    "Solution design",
    "Proof of concept",
    "Business strategy",
    "Deployment services",
    "Adoption and change management",
    "Transaction",
    "Managed services",
)
# (Solution Area, Solution Play), FY25, in seed order.
SEED_SOLUTION_PLAYS = (
    ("Business Applications", "Accelerate Innovation with Low Code"),
    ("Business Applications", "Accelerate Revenue Generation"),
    ("Business Applications", "Modernize Service"),
    ("Business Applications", "Optimize Finance and Supply Chain"),
    ("Business Applications", "SMB Scale Business Operations"),
    ("Data and AI", "Power Business Decisions with Cloud Scale Analytics"),
    ("Data and AI", "Build and Modernize AI Apps"),
    ("Digital and Application Innovation", "Migrate Enterprise Apps"),
    ("Digital and Application Innovation", "Build and Modernize AI Apps"),
    ("Digital and Application Innovation", "Accelerate Developer Productivity"),
    ("Digital and Application Innovation", "Accelerate Innovation with Integration Services"),
    ("Infrastructure", "Migrate and Secure Windows Server and SQL Server"),
    ("Infrastructure", "Migrate SAP"),
    ("Infrastructure", "Innovate with HPC, AI Infrastructure"),
    ("Infrastructure", "Migrate Linux Estate"),
    ("Infrastructure", "Migrate Oracle"),
    ("Modern Work", "Frontline Workers"),
    ("Modern Work", "Employee Experience"),
    ("Modern Work", "Secure Productivity"),
    ("Modern Work", "Converged Communications"),
    ("Modern Work", "Cloud Endpoints"),
    ("Modern Work", "Modernize with Surface"),
    ("Security", "Threat protection with XDR and SIEM"),
    ("Security", "Multicloud Security"),
    ("Security", "Data Security"),
    ("Security", "Data Governance"),
    ("Security", "Modern Sec Ops"),
    ("Security", "Secure Identity and takeout Okta and Ping"),
    ("Unified Support", "Build a Strong Foundation with Unified"),
    ("Unified Support", "Drive Cloud Success with Enhanced Solutions"),
)
SEED_AREAS = tuple(dict.fromkeys(area for area, _ in SEED_SOLUTION_PLAYS))

ALL_CATALOGS: tuple[Catalog[str], ...] = (
    PRODUCTS,
    SERVICES,
    INDUSTRIES,
    SOLUTIONS,
    CUSTOMER_SIZES,
    PARTNER_ROLES,
    SOLUTION_AREAS,
    *SOLUTION_PLAYS.values(),
    ASSISTANCE_REQUEST_CODES,
    SALES_STAGES,
    STATUSES,
    SUBSTATUSES,
    REFERRAL_TYPES,
    QUALIFICATIONS,
    SOLUTION_TYPES,
    TARGET_TYPES,
    DIRECTIONS,
    COUNTRIES,
    CURRENCIES,
)


def by_name(catalogs: Sequence[Catalog[str]]) -> list[str]:
    return [catalog.name for catalog in catalogs]


# --- the seed tables, exactly ----------------------------------------------------------


@pytest.mark.parametrize(
    ("catalog", "seed"),
    [
        (PRODUCTS, SEED_PRODUCTS),
        (SERVICES, SEED_SERVICES),
        (INDUSTRIES, SEED_INDUSTRIES),
        (SOLUTIONS, SEED_SOLUTIONS),
        (CUSTOMER_SIZES, SEED_CUSTOMER_SIZES),
        (PARTNER_ROLES, SEED_PARTNER_ROLES),
        (SOLUTION_AREAS, SEED_AREAS),
        (SALES_STAGES, ("Qualify", "Develop", "Propose", "Close")),
        (
            ASSISTANCE_REQUEST_CODES,
            (
                "Unknown",
                "GeneralOrOther",
                "CustomerTechnicalArchitecture",
                "ProofOfConceptOrDemo",
                "QuotesOrLicensing",
                "PostSalesCustomerSuccess",
                "WorkloadSpecificValueProposition",
            ),
        ),
    ],
    ids=lambda item: item.name if isinstance(item, Catalog) else "",
)
def test_catalog_holds_exactly_the_documented_values(
    catalog: Catalog[str], seed: tuple[str, ...]
) -> None:
    assert catalog.values == seed
    for value in seed:
        assert value in catalog
        assert catalog.lookup(value) == value


def test_solution_plays_follow_the_seed_table() -> None:
    assert tuple(SOLUTION_PLAYS) == SEED_AREAS
    rows = tuple((area, play) for area, plays in SOLUTION_PLAYS.items() for play in plays)
    assert rows == SEED_SOLUTION_PLAYS


@pytest.mark.parametrize(
    ("catalog", "enum"),
    [
        (STATUSES, ReferralStatus),
        (SUBSTATUSES, ReferralSubstatus),
        (REFERRAL_TYPES, ReferralType),
        (QUALIFICATIONS, ReferralQualification),
        (SOLUTION_TYPES, SolutionType),
        (TARGET_TYPES, TargetType),
        (DIRECTIONS, Direction),
        (ASSISTANCE_REQUEST_CODES, AssistanceRequestCode),
    ],
    ids=lambda item: item.name if isinstance(item, Catalog) else "",
)
def test_enum_catalogs_return_members(catalog: Catalog[str], enum: type[StrEnum]) -> None:
    assert catalog.values == tuple(enum)
    for value in catalog:
        found = catalog.lookup(value.lower())
        assert isinstance(found, enum)
        assert found == value


@pytest.mark.parametrize("catalog", ALL_CATALOGS, ids=by_name(ALL_CATALOGS))
def test_every_value_looks_itself_up_and_its_label_back(catalog: Catalog[str]) -> None:
    assert len(catalog) > 0
    for value in catalog:
        assert catalog.lookup(value) == value
        if (catalog, value) != (CURRENCIES, "VED"):  # shares its name with VES
            assert catalog.lookup(catalog.label(value)) == value


# --- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("catalog", "text", "expected"),
    [
        (COUNTRIES, "united states", "US"),
        (COUNTRIES, "usa", "US"),
        (COUNTRIES, "United States of America", "US"),
        (COUNTRIES, "us", "US"),
        (COUNTRIES, "UK", "GB"),
        (COUNTRIES, "u.k.", "GB"),
        (COUNTRIES, "Britain", "GB"),
        (COUNTRIES, "great britain", "GB"),
        (COUNTRIES, "United Kingdom", "GB"),
        (COUNTRIES, "GBR", "GB"),
        (COUNTRIES, "Côte d'Ivoire", "CI"),
        (COUNTRIES, "cote divoire", "CI"),
        (COUNTRIES, "South Korea", "KR"),
        (COUNTRIES, "de", "DE"),
        (CURRENCIES, "usd", "USD"),
        (CURRENCIES, "euro", "EUR"),
        (CURRENCIES, "us dollar", "USD"),
        (CURRENCIES, "Pound Sterling", "GBP"),
        (CURRENCIES, "Bolívar Soberano", "VES"),
        (CUSTOMER_SIZES, "10 to 50 employees", "10to50employees"),
        (CUSTOMER_SIZES, "more than 500 employees", "Morethan500employees"),
        (CUSTOMER_SIZES, "1-9 employees", "1to9employees"),
        (CUSTOMER_SIZES, "1 \N{EN DASH} 9 employees", "1to9employees"),
        (CUSTOMER_SIZES, "10,001 to 20,000 employees", "10001to20000employees"),
        (CUSTOMER_SIZES, "More than 20,000 employees", "Morethan20000employees"),
        (INDUSTRIES, "agriculture forestry and fishing", "Agriculture, Forestry, & Fishing"),
        (INDUSTRIES, "power and utilities", "Power & Utilities"),
        (INDUSTRIES, "public safety & national security", "Public Safety and National Security"),
        (PRODUCTS, "dynamics 365 business", "Dynamics365Business"),
        (PRODUCTS, "Dynamics NAV", "DynamicsAX,GP,NAV,SL"),
        (PRODUCTS, "dynamics ax gp nav sl", "DynamicsAX,GP,NAV,SL"),
        (SERVICES, "custom solution (ISV)", "CustomSolution(ISV)"),
        (SERVICES, "ip services", "IPServices(ISV)"),
        (SOLUTIONS, "database on linux", "DatabaseonLinux"),
        (SOLUTIONS, "Dynamics 365 for Finance and Operations", "Dynamics365forFinanceOperations"),
        (PARTNER_ROLES, "proof-of-concept", "Proof of concept"),
        (SOLUTION_AREAS, "Data & AI", "Data and AI"),
        (SALES_STAGES, "propose", "Propose"),
        (STATUSES, "ACTIVE", "Active"),
        (QUALIFICATIONS, "sales qualified", "SalesQualified"),
    ],
)
def test_lookup_examples(catalog: Catalog[str], text: str, expected: str) -> None:
    assert catalog.lookup(text) == expected


@pytest.mark.parametrize(
    ("catalog", "value", "label"),
    [
        (COUNTRIES, "US", "United States"),
        (COUNTRIES, "GB", "United Kingdom"),
        (CURRENCIES, "EUR", "Euro"),
        (CUSTOMER_SIZES, "10to50employees", "10 to 50 employees"),
        (PRODUCTS, "Dynamics365Business", "Dynamics 365 Business"),
        (PRODUCTS, "SharePoint", "SharePoint"),
        (SOLUTIONS, "DatabaseonLinux", "Database on Linux"),
        (INDUSTRIES, "Healthcare", "Healthcare"),
    ],
)
def test_labels(catalog: Catalog[str], value: str, label: str) -> None:
    assert catalog.label(value) == label


def test_misspelt_industry_suggests_the_right_one() -> None:
    with pytest.raises(UnknownValue) as caught:
        INDUSTRIES.lookup("helthcare")
    assert caught.value.suggestions[0] == "Healthcare"
    assert str(caught.value) == "'helthcare' is not a known industry. Did you mean: Healthcare?"


def test_unknown_industry_names_the_catalog() -> None:
    with pytest.raises(UnknownValue) as caught:
        INDUSTRIES.lookup("Xyz")
    assert caught.value.catalog == "industry"
    assert caught.value.given == "Xyz"
    assert "'Xyz' is not a known industry." in str(caught.value)


def test_misspelt_country_suggests_code_and_name() -> None:
    with pytest.raises(UnknownValue) as caught:
        COUNTRIES.lookup("Untied Kingdom")
    assert caught.value.suggestions[0] == "GB"
    assert "GB (United Kingdom)" in str(caught.value)


# --- solution areas and plays ---------------------------------------------------------------


@pytest.mark.parametrize("area", SEED_AREAS)
def test_plays_for_returns_only_that_areas_plays(area: str) -> None:
    expected = tuple(play for row_area, play in SEED_SOLUTION_PLAYS if row_area == area)
    assert plays_for(area).values == expected
    assert plays_for(area.upper().replace(" and ", " & ")) is plays_for(area)
    for other_area, play in SEED_SOLUTION_PLAYS:
        if play not in expected:
            with pytest.raises(UnknownValue) as caught:
                plays_for(area).lookup(play)
            assert area in caught.value.catalog, other_area


def test_build_and_modernize_ai_apps_is_under_two_areas() -> None:
    play = "Build and Modernize AI Apps"
    assert [area for area, plays in SOLUTION_PLAYS.items() if play in plays] == [
        "Data and AI",
        "Digital and Application Innovation",
    ]


def test_plays_for_accepts_area_aliases_and_rejects_unknown_areas() -> None:
    assert (
        plays_for("Digital & App Innovation")
        is SOLUTION_PLAYS["Digital and Application Innovation"]
    )
    assert plays_for("business apps").lookup("modernize service") == "Modernize Service"
    with pytest.raises(UnknownValue) as caught:
        plays_for("Securty")
    assert caught.value.catalog == "solution area"
    assert caught.value.suggestions[0] == "Security"


def test_solution_plays_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        SOLUTION_PLAYS["New Area"] = SALES_STAGES  # type: ignore[index]


# --- ISO tables --------------------------------------------------------------------------------


def test_countries_cover_every_iso_alpha_2_code() -> None:
    codes = {country.alpha_2 for country in pycountry.countries}
    assert set(COUNTRIES) == codes
    for country in pycountry.countries:
        assert COUNTRIES.lookup(country.alpha_3) == country.alpha_2
        assert COUNTRIES.lookup(country.name) == country.alpha_2


def test_currencies_cover_every_iso_4217_code() -> None:
    assert set(CURRENCIES) == {currency.alpha_3 for currency in pycountry.currencies}
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)


def test_catalogs_module_exports_only_catalog_data() -> None:
    public = {name for name in vars(catalogs) if name.isupper()}
    assert {
        "PRODUCTS",
        "SERVICES",
        "INDUSTRIES",
        "SOLUTIONS",
        "CUSTOMER_SIZES",
        "PARTNER_ROLES",
        "SOLUTION_AREAS",
        "SOLUTION_PLAYS",
        "ASSISTANCE_REQUEST_CODES",
        "SALES_STAGES",
        "STATUSES",
        "SUBSTATUSES",
        "REFERRAL_TYPES",
        "QUALIFICATIONS",
        "SOLUTION_TYPES",
        "TARGET_TYPES",
        "COUNTRIES",
        "CURRENCIES",
    } <= public


# --- properties --------------------------------------------------------------------------------


@given(st.data())
def test_respelt_canonical_values_look_up_to_themselves(data: st.DataObject) -> None:
    catalog = data.draw(st.sampled_from(ALL_CATALOGS))
    value = data.draw(st.sampled_from(catalog.values))
    assert catalog.lookup(data.draw(respelt(value))) == value


@settings(deadline=None)
@given(st.sampled_from(ALL_CATALOGS), st.text())
def test_lookup_raises_only_unknown_value_with_valid_suggestions(
    catalog: Catalog[str], text: str
) -> None:
    found = catalog.get(text)
    if found is not None:
        assert catalog.lookup(text) == found
        return
    with pytest.raises(UnknownValue) as caught:
        catalog.lookup(text)
    assert caught.value.catalog == catalog.name
    assert all(suggestion in catalog for suggestion in caught.value.suggestions)


@settings(deadline=None)
@given(st.sampled_from(ALL_CATALOGS), st.data())
def test_suggestions_for_near_misses_are_valid_values(
    catalog: Catalog[str], data: st.DataObject
) -> None:
    value = data.draw(st.sampled_from(catalog.values))
    cut = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
    near_miss = value[:cut] + value[cut + 1 :] + data.draw(st.sampled_from(["", "x", "zz"]))
    suggestions = catalog.closest(near_miss, n=5)
    assert len(suggestions) <= 5
    assert all(suggestion in catalog for suggestion in suggestions)
