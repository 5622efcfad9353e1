"""The layout's rules (README "Layout"): each is a property of the tree, checked here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "service"
WEB = ("fastapi", "pydantic", "pydantic_settings", "starlette", "service.api", "service.main")
LONG = 250  # lines; a longer module says why in its docstring ("over 250 lines")


def modules() -> list[Path]:
    return sorted(p for p in SERVICE.rglob("*.py") if p.name != "__init__.py")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_core_imports_nothing_of_the_web_layer() -> None:
    for path in (SERVICE / "core").rglob("*.py"):
        web = {name for name in imported(path) if name.split(".")[0] in WEB or name in WEB}
        web |= {name for name in imported(path) if name.startswith(("service.api", "service.main"))}
        assert not web, f"{path.relative_to(ROOT)} imports {sorted(web)}"


def test_only_main_imports_route_modules() -> None:
    for path in modules():
        if path == SERVICE / "main.py":
            continue
        routes = {name for name in imported(path) if name.startswith("service.api.routes")}
        assert not routes, f"{path.relative_to(ROOT)} imports {sorted(routes)}"


def test_a_long_module_says_why_in_its_docstring() -> None:
    for path in modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG:
            docstring = " ".join((ast.get_docstring(ast.parse(text)) or "").split())
            assert "over 250 lines" in docstring.lower(), f"{path.relative_to(ROOT)} is long"


def test_every_module_has_a_mirrored_test_or_names_the_test_that_covers_it() -> None:
    for path in modules():
        relative = path.relative_to(SERVICE)
        mirrored = ROOT / "tests" / relative.parent / f"test_{path.name}"
        if mirrored.exists():
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        named = re.findall(r"(?:api_)?tests/[\w/]+\.py", docstring)
        assert named, f"{relative}: no {mirrored.relative_to(ROOT)}, and no test named"
        for test in named:
            assert (ROOT / test).exists(), f"{relative} names {test}, which does not exist"


def test_openapi_examples_are_written_on_the_schemas_only() -> None:
    """One way to give an example: JSON Schema `examples` on a schema, never on a route."""
    for path in (ROOT / "service" / "api" / "routes").glob("*.py"):
        text = path.read_text()
        assert "openapi_examples" not in text, path
        assert "examples=" not in text, path
