"""The shape of the code (STYLE.md): frameworks stay in their layer."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SRC = REPO / "src/bluelamp"
WEB_FRAMEWORKS = ("fastapi", "starlette", "jinja2", "uvicorn")


def runtime_imports(path: Path) -> set[str]:
    """Top-level package names imported at run time (imports under TYPE_CHECKING do not count)."""
    tree = ast.parse(path.read_text())
    type_checking_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking_nodes.update(id(child) for child in ast.walk(node))
    names = set()
    for node in ast.walk(tree):
        if id(node) in type_checking_nodes:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sqlalchemy.orm" and [a.name for a in node.names] == ["Session"]:
                continue  # the session type, for annotations and dependency injection, is fine
            names.add(node.module.split(".")[0])
    return names


def modules():
    return sorted(SRC.rglob("*.py"))


def test_only_the_web_layer_imports_web_frameworks():
    offenders = [
        str(path.relative_to(SRC))
        for path in modules()
        if path.relative_to(SRC).parts[0] != "web" and runtime_imports(path) & set(WEB_FRAMEWORKS)
    ]
    assert not offenders, f"web frameworks imported outside web/: {offenders}"


def test_only_storage_models_and_queries_import_sqlalchemy():
    allowed_names = {"model.py", "queries.py", "writes.py"}  # writes.py: batched Core writes on hot paths
    offenders = []
    for path in modules():
        relative = path.relative_to(SRC)
        if relative.parts[0] == "storage" or path.name in allowed_names:
            continue
        if "sqlalchemy" in runtime_imports(path):
            offenders.append(str(relative))
    assert not offenders, f"SQLAlchemy imported outside storage/, model.py, queries.py and writes.py: {offenders}"


def test_only_settings_reads_the_environment():
    offenders = [
        str(path.relative_to(SRC))
        for path in modules()
        if path.name != "settings.py" and ("os.environ" in path.read_text() or "getenv(" in path.read_text())
    ]
    assert not offenders, f"environment read outside settings.py: {offenders}"
