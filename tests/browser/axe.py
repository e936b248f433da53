"""Accessibility checks of the browser tests: axe-core, vendored from npm (``make vendor-axe``), run in the page.

- ``axe_violations(page, impacts=("serious", "critical"))``: the violations of WCAG 2.0 A/AA, WCAG 2.1 AA and
  axe's best practices on the page as it is now, those of the given impacts only (``impacts=None``: all).
- ``assert_accessible(page, "the check-in form")``: fails listing each serious or critical violation (rule id,
  impact, help text, the first elements concerned).

axe-core is injected from tests/browser/vendor/axe-core/axe.min.js with ``page.add_script_tag(path=...)``, once
per document (again after a navigation): nothing is fetched from the network. The script is inlined, so a page
whose Content-Security-Policy forbids inline scripts needs a context made with ``bypass_csp=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_DIR = Path(__file__).resolve().parent / "vendor" / "axe-core"
AXE_JS = AXE_DIR / "axe.min.js"
AXE_VERSION = (AXE_DIR / "VERSION").read_text().strip()

# The rule sets run: WCAG 2.0 A and AA, WCAG 2.1 AA, and axe's best practices.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21aa", "best-practice")
BLOCKING_IMPACTS = ("serious", "critical")
# Elements listed per violation in a failure message.
TARGETS_SHOWN = 3

_RUN = """async (tags) => {
    const results = await window.axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        tags: v.tags,
        nodes: v.nodes.map((n) => ({target: n.target, html: n.html, failureSummary: n.failureSummary})),
    }));
}"""


def _inject(page: Page) -> None:
    if page.evaluate("() => typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        return
    page.add_script_tag(path=AXE_JS)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        raise AssertionError(
            f"axe-core {AXE_VERSION} did not load into {page.url} (a Content-Security-Policy against inline "
            "scripts? make the context with bypass_csp=True)"
        )


def axe_violations(page: Page, *, impacts: Iterable[str] | None = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """The axe-core violations on ``page`` now, of the given impacts (``None``: every impact).

    Each is axe's violation object, trimmed: ``id``, ``impact``, ``help``, ``helpUrl``, ``tags`` and ``nodes``
    (each with ``target``, a list of CSS selectors, ``html`` and ``failureSummary``).
    """
    _inject(page)
    violations: list[dict[str, Any]] = page.evaluate(_RUN, list(AXE_TAGS))
    if impacts is None:
        return violations
    wanted = set(impacts)
    return [v for v in violations if v.get("impact") in wanted]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and one per element shown: rule id, impact, help, then the targets."""
    lines = []
    for violation in violations:
        nodes = violation.get("nodes", [])
        lines.append(f"  - {violation['id']} ({violation.get('impact')}): {violation.get('help')} [{len(nodes)}]")
        for node in nodes[:TARGETS_SHOWN]:
            target = " ".join(str(t) for t in node.get("target", []))
            lines.append(f"      {target}")
        if len(nodes) > TARGETS_SHOWN:
            lines.append(f"      ... and {len(nodes) - TARGETS_SHOWN} more")
    return "\n".join(lines)


def assert_accessible(page: Page, what: str, *, impacts: Iterable[str] = BLOCKING_IMPACTS) -> None:
    """Fail when axe-core finds a serious or critical violation on ``page``; ``what`` names the page's state
    in the message (e.g. "the urgent screen")."""
    levels = tuple(impacts)
    violations = axe_violations(page, impacts=levels)
    if violations:
        raise AssertionError(
            f"axe-core {AXE_VERSION} found {len(violations)} {'/'.join(levels)} accessibility violation(s) on "
            f"{what} ({page.url}):\n{describe(violations)}"
        )
