"""The flow pages in docs/flows are generated from the flow data and kept current."""

from __future__ import annotations

import pytest

from bot.conversation.vocabulary.diagram import DOCS, document, mermaid
from bot.conversation.vocabulary.flows import FLOWS


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_docs_match_the_flow(name: str) -> None:
    page = DOCS / f"{name}.md"
    assert page.exists(), "run: python -m bot.conversation.vocabulary.diagram"
    assert page.read_text(encoding="utf-8") == document(FLOWS[name]), (
        "the flow changed: run python -m bot.conversation.vocabulary.diagram"
    )


def test_diagram_names_every_step_and_condition() -> None:
    chart = mermaid(FLOWS["new"])
    for step in FLOWS["new"].steps:
        assert f"    {step.id}[" in chart
    assert "-- deal_kind in services_co_sell --> partner_role" in chart
