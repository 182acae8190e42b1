"""The core's folders are its layers: imports point down, never round in a circle.

Read from the source with ``ast`` (nothing is imported), so a forbidden
import fails here even when no test happens to load the module. An import
under ``if TYPE_CHECKING:`` counts for the direction (a type named from a
layer above is a dependency on it all the same) but not for circles, which
are about what Python runs: a part's events may name the session type that
owns the part.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SIP = Path(__file__).resolve().parents[2] / "webvoice" / "sip"

#: Bottom to top. A module may import its own folder and the folders before it.
LAYERS = ("util", "syntax", "auth", "transaction", "dialog", "event", "session", "ua")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SIP.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(absolute module imported, type-only?, line) for every import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, type_only, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or node.level and not node.module:
                # ``from . import _x``: each name is a module
                found.extend((f"{target}.{alias.name}", type_only, node.lineno) for alias in node.names)
            else:
                found.append((target, type_only, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


MODULES = {_module_name(p): p for p in sorted(SIP.rglob("*.py"))}


def _layer(module: str) -> int | None:
    """The rank of ``module``'s folder, None for the package's own ``__init__``."""
    parts = module.split(".")
    if len(parts) < 3:
        return None
    return LAYERS.index(parts[2])


def _in_core(name: str) -> str | None:
    """``name`` as a module of the core (a package imported for a name resolves to
    its ``__init__``), or None when it is outside webvoice.sip."""
    while name and name not in MODULES:
        if not name.startswith("webvoice.sip"):
            return None
        name = name.rpartition(".")[0]
    return name or None


def test_every_folder_is_a_known_layer():
    folders = {p.name for p in SIP.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS)
    loose = sorted(p.name for p in SIP.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "every module of the core lives in a layer's folder"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) is not None))
def test_imports_point_down_the_layers(module):
    rank = _layer(module)
    for name, _, line in _imports(MODULES[module]):
        target = _in_core(name)
        if target is None:
            top = name.partition(".")[0]
            # CPython's own accelerators (``_sha2`` is 3.12's name) count as the standard library.
            assert top in sys.stdlib_module_names or top.startswith("_"), \
                f"{module}:{line} imports {name}: the core is standard library only"
            continue
        target_rank = _layer(target)
        assert target_rank is not None and target_rank <= rank, \
            f"{module}:{line} imports {target}, a layer above ({LAYERS[rank]} < {target.split('.')[2]})"


def _runtime_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges = graph.setdefault(module, set())
        for name, type_only, _ in _imports(path):
            target = _in_core(name)
            if target is not None and not type_only and target != module:
                edges.add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in colour and (found := walk(nxt)) is not None:
                return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if node not in colour and (found := walk(node)) is not None:
            return found
    return None


def test_no_import_circles():
    cycle = _cycle(_runtime_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or ())


def test_type_only_imports_stay_in_their_folder():
    """A type named from the same folder is fine (events naming their session);
    across folders it would be a dependency the layers do not show. The package's
    own ``__init__`` sits above every layer: it re-exports them (lazily, and for
    type checkers under TYPE_CHECKING), so it may name any of them."""
    for module, path in MODULES.items():
        if module == "webvoice.sip":
            continue
        for name, type_only, line in _imports(path):
            target = _in_core(name)
            if type_only and target is not None and _layer(target) != _layer(module):
                assert _layer(target) is not None and _layer(module) is not None \
                    and _layer(target) < _layer(module), f"{module}:{line}: type-only import of {target} from above"


def test_the_checker_sees_a_circle_and_an_upward_import():
    """The checks above can fail: a made-up graph with a circle is caught."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert _layer("webvoice.sip.ua._ua") > _layer("webvoice.sip.syntax._uri")
