"""The rules of the house, checked on the source (DESIGN.md, "Layout").

- No module imports another module's private name (``_x``): what one room needs from
  another is public there, with a docstring, so the next engineer sees the contract.
- No import cycle between modules (imports made only for type checking excepted: they
  never run).
- The ledger imports nothing above it (measure, bench, advise, report, cli): storage knows
  nothing of presentation or of who writes to it.

The walk reads the source with :mod:`ast`; nothing is imported, so a test here cannot be
fooled by what an earlier test already loaded.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HIGHER_THAN_LEDGER = (
    "zuinig.measure",
    "zuinig.bench",
    "zuinig.advise",
    "zuinig.report",
    "zuinig.cli",
    "zuinig.convert",
)


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    #: Modules this one imports when it runs (not under ``if TYPE_CHECKING:``).
    imports: set[str] = field(default_factory=set)
    #: ``module.name`` of every private name it imports from another module.
    private_names: list[str] = field(default_factory=list)


def _module_name(src: Path, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _walk_source(src: Path) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for path in sorted((src / "zuinig").rglob("*.py")):
        name, is_package = _module_name(src, path)
        modules[name] = Module(name, path, is_package)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        only_for_types = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(module, node)
                if not target.startswith("zuinig"):
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    private = alias.name.startswith("_") and not alias.name.startswith("__")
                    own = target == module.name or module.name.startswith(target + ".")
                    if private and full not in modules and not own:
                        module.private_names.append(full)
                    dest = full if full in modules else target
                    if (
                        dest in modules
                        and dest != module.name
                        and node.lineno not in only_for_types
                    ):
                        module.imports.add(dest)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and node.lineno not in only_for_types:
                        module.imports.add(alias.name)
    return modules


MODULES = _walk_source(SRC)


def _cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Cycles between modules; a package's ``__init__`` re-exporting its own rooms is not one."""
    packages = {name for name, module in modules.items() if module.is_package}
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        stack.append(name)
        for dest in sorted(modules[name].imports):
            if dest in packages or name in packages:
                continue
            if state.get(dest) == 1:
                found.append([*stack[stack.index(dest) :], dest])
            elif not state.get(dest):
                visit(dest, stack)
        stack.pop()
        state[name] = 2

    for name in sorted(modules):
        if not state.get(name):
            visit(name, [])
    return found


def _upward(modules: dict[str, Module], name: str) -> list[str]:
    """What ``name`` imports from the layers above the ledger."""
    return sorted(d for d in modules[name].imports if d.startswith(HIGHER_THAN_LEDGER))


def test_the_walk_sees_the_whole_package() -> None:
    # A walk that found nothing would pass every rule below.
    assert "zuinig.ledger" in MODULES and "zuinig.meter" in MODULES
    assert len(MODULES) > 80
    assert any(m.imports for m in MODULES.values())


def test_no_module_imports_another_modules_private_name() -> None:
    offenders = [f"{m.name} imports {name}" for m in MODULES.values() for name in m.private_names]
    assert offenders == []


def test_the_rules_catch_a_made_up_offender(tmp_path: Path) -> None:
    # The walk on a tiny package that breaks every rule: a test that cannot fail proves nothing.
    package = tmp_path / "zuinig"
    (package / "ledger").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ledger" / "__init__.py").write_text("")
    (package / "ledger" / "store.py").write_text("from zuinig.report import words\n_SECRET = 1\n")
    (package / "report.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from zuinig.ledger.store import _SECRET\n"
        "if TYPE_CHECKING:\n    from zuinig import cli\n"
        "words = _SECRET\n"
    )
    (package / "cli.py").write_text("from zuinig import report\n")
    modules = _walk_source(tmp_path)
    assert modules["zuinig.report"].private_names == ["zuinig.ledger.store._SECRET"]
    assert modules["zuinig.report"].imports == {"zuinig.ledger.store"}  # not cli: types only
    assert modules["zuinig.ledger.store"].imports == {"zuinig.report"}
    assert _cycles(modules) == [["zuinig.report", "zuinig.ledger.store", "zuinig.report"]]
    assert _upward(modules, "zuinig.ledger.store") == ["zuinig.report"]


def test_no_import_cycle() -> None:
    assert _cycles(MODULES) == []


def test_the_cycle_finder_finds_a_made_up_cycle() -> None:
    made_up = {
        "a.x": Module("a.x", Path("x"), False, {"a.y"}),
        "a.y": Module("a.y", Path("y"), False, {"a.x"}),
    }
    assert _cycles(made_up) == [["a.x", "a.y", "a.x"]]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("zuinig.ledger")))
def test_the_ledger_imports_nothing_above_it(name: str) -> None:
    assert _upward(MODULES, name) == []
