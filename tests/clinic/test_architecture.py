"""The layout that issue 11 (item 8) set, read from the source: access has one home, the packages import downwards.

- The access rule is written once, in ``patients/access.py``: every ``visible_to`` hands its queryset to it.
- ``clinic/`` is the project wiring (settings, urls, Celery, WSGI) and shared plumbing: apart from the URL
  modules, nothing in it imports an app.
- The tasks call the services, never the other way round: no module but the tasks imports ``assessments.tasks``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("patients", "programs", "assessments")
# The URL modules are the project's top floor: they wire the apps' views, so they import them.
WIRING = {"clinic/urls.py", "clinic/api/urls.py"}


def _sources(*packages: str) -> Iterator[tuple[str, ast.Module]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, ast.parse(path.read_text(), filename=relative)


def _imported_modules(tree: ast.Module) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names, at any depth (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_visible_to_goes_through_the_one_access_rule() -> None:
    found = {}
    for relative, tree in _sources(*APPS):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "visible_to":
                calls = {ast.unparse(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}
                found[f"{relative}:{node.lineno}"] = calls
    assert len(found) >= 6, found  # clinics, staff, patients, invitations, patient-reached rows, emails, rulesets
    written_elsewhere = {
        where: calls
        for where, calls in found.items()
        if not calls & {"restrict", "access.restrict", "access.staff_only", "access.shared_or_own"}
    }
    assert written_elsewhere == {}, "a visible_to that does not use patients.access"


def test_only_the_access_module_decides_scope_from_a_users_clinic() -> None:
    """``staff_clinic_id(...)`` decides scope only in patients/access.py (the admins use it to pre-fill a clinic)."""
    users = []
    for relative, tree in _sources(*APPS):
        if relative in {"patients/access.py", "patients/middleware.py"} or relative.split("/")[-1].startswith("admin"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("staff_clinic_id"):
                users.append(f"{relative}:{node.lineno}")
    assert users == []


def test_the_project_package_imports_no_app_except_to_wire_urls() -> None:
    offending = {
        relative: sorted(name for name in _imported_modules(tree) if name.split(".")[0] in APPS)
        for relative, tree in _sources("clinic")
        if relative not in WIRING
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_only_the_tasks_import_the_tasks() -> None:
    importers = [
        relative
        for relative, tree in _sources(*APPS, "clinic")
        if relative != "assessments/tasks.py" and "assessments.tasks" in _imported_modules(tree)
    ]
    assert importers == []
