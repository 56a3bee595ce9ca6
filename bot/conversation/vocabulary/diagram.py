"""Mermaid diagrams of the flows, generated from the flow data so they never drift.

``python -m bot.conversation.vocabulary.diagram`` rewrites ``docs/flows/*.md``; a test fails
when a flow changed and its diagram was not regenerated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.conversation.vocabulary.flows import FLOWS
from bot.conversation.vocabulary.paths import ApiPath
from bot.conversation.vocabulary.steps import Flow, Step

DOCS = Path(__file__).resolve().parents[3] / "docs" / "flows"


def mermaid(flow: Flow) -> str:
    """The flow as a Mermaid flowchart: steps in order, conditions on the edges that skip."""
    lines = ["flowchart TD", f'    start(["/referral {flow.name}"])']
    for step in flow.steps:
        lines.append(f'    {step.id}["{_label(step)}"]')
    lines.append('    review{{"review"}}')
    lines.append('    submit(["submit"])')
    previous = "start"
    for step in flow.steps:
        when = flow.condition(step)
        condition = when.describe() if when is not None else None
        edge = f" -- {condition} --> " if condition else " --> "
        lines.append(f"    {previous}{edge}{step.id}")
        previous = step.id
    lines.append(f"    {previous} --> review")
    lines.append("    review -- edit FIELD --> review")
    lines.append("    review -- submit --> submit")
    return "\n".join(lines) + "\n"


def document(flow: Flow) -> str:
    """The Markdown page for one flow."""
    optional = [step.label for step in flow.steps if step.required is False]
    conditional = [
        f"- **{step.label}**: asked when {when.describe()}"
        for step in flow.steps
        if (when := flow.condition(step)) is not None
    ]
    parts = [
        f"# {flow.title} (`/referral {flow.name}`)",
        "",
        "Generated from `bot/conversation/vocabulary/flows/` by"
        " `python -m bot.conversation.vocabulary.diagram`; do not edit by hand.",
        "",
        "```mermaid",
        mermaid(flow).rstrip(),
        "```",
        "",
        "At any step: back, skip (optional steps), review, edit FIELD, keep (editing),"
        " submit, cancel, help."
        " A step marked * is required for some answers and optional for others.",
    ]
    if optional:
        parts += ["", "Optional: " + ", ".join(optional) + "."]
    if conditional:
        parts += ["", "Conditional steps:", *conditional]
    grouped = [
        f"- **{step.label}**: one answer for {', '.join(flow.step(s).label for s in step.covers)};"
        " what it leaves open is asked one by one"
        for step in flow.steps
        if step.is_group
    ]
    if grouped:
        parts += ["", "Questions for several steps at once (asked while two or more are open):"]
        parts += grouped
    inferred = [
        f"- **{step.label}**: {step.infer.reason}, until answered"
        for step in flow.steps
        if step.infer is not None
    ]
    if inferred:
        parts += ["", "Worked out from other answers (not asked; shown on the review):", *inferred]
    if flow.sections:
        parts += ["", "The review, by group (one Edit each):"]
        parts += [
            f"- **{section.title}** (`edit {section.id}`): "
            + ", ".join(flow.step(s).label for s in section.steps)
            for section in flow.sections
        ]
    checked = _checked(flow)
    if checked:
        parts += [
            "",
            "Checked against earlier answers (asked again when a change to those refuses it):",
            *checked,
        ]
    parts += ["", f"Submit: {flow.submit.value}. What each answer fills:", "", *_fills(flow)]
    return "\n".join(parts) + "\n"


def _checked(flow: Flow) -> list[str]:
    """A line per step whose answer is checked against earlier answers, naming those."""
    return [
        f"- **{step.label}**: against {', '.join(flow.step(s).label for s in step.depends_on)}"
        for step in flow.steps
        if step.depends_on
    ]


def _fills(flow: Flow) -> list[str]:
    """A table of the steps and the API path each fills (or why none)."""
    rows = ["| Step | API path |", "| --- | --- |"]
    for step in flow.steps:
        path = step.fills
        if isinstance(path, ApiPath):
            filled = f"`{path.pointer}`" + (" (updatable)" if path.updatable else "")
        else:
            filled = f"none: {path.reason}"
        cell = filled.replace("|", "\\|")
        rows.append(f"| {step.label} (`{step.id}`) | {cell} |")
    return rows


def _label(step: Step) -> str:
    required = "" if step.required is True else " (optional)" if step.required is False else "*"
    return f"{step.label}{required}<br/><i>{step.kind.value}</i>".replace('"', "'")


def main() -> None:
    """Write every flow's page to ``docs/flows``."""
    DOCS.mkdir(parents=True, exist_ok=True)
    for flow in FLOWS.values():
        path = DOCS / f"{flow.name}.md"
        path.write_text(document(flow), encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
