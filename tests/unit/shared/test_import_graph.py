"""No module imports (even only for type checking) a module that imports it back.

Edges from a module to its own parent packages are left out: a package's `__init__` re-exports
its members, which is a facade, not a circle between two modules with jobs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = {
    "arrears": "shared/src",
    "arrears_dev": "tools/src",
    "case_service": "services/case-service/src",
    "contact_service": "services/contact-service/src",
    "legal_service": "services/legal-service/src",
}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for package, src in PACKAGES.items():
        for path in (ROOT / src / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT / src).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imports(name: str, path: Path, is_package: bool) -> set[str]:
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join([*here, *([node.module] if node.module else [])])
            named |= {base, *(f"{base}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
    return named


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            other
            for other in _imports(name, path, is_package)
            if other in modules and other != name and not name.startswith(other + ".")
        }
        for name, (path, is_package) in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_a_circle_of_two_modules_is_found() -> None:
    assert circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_module_of_the_services_shared_or_tools_imports_itself_in_a_circle() -> None:
    graph = import_graph()

    assert "case_service.domain.events" in graph
    assert circles(graph) == []
