"""The layering of `recon/`, held against its imports (read with ast, nothing is run).

The stages run one way: core → home → ingest → engine → reports → reconcile → synth → viz →
api (the face) → serve. A module may import its own stage and earlier ones, never a later one.
The engine is pure: it imports only core. The adapters in `serve/` import only the public face
(`recon`) and each other. docs/architecture.md explains the rules; this test keeps them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "recon"

STAGES = (
    "core",
    "home",
    "ingest",
    "engine",
    "reports",
    "reconcile",
    "synth",
    "viz",
    "api",
    "serve",
)
ONLY = {"engine": {"core", "engine"}}  # stages held to a narrower set than "every earlier one"
ADAPTERS = {"serve"}
MAX_LINES = 400


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str | None:
    """`recon.reports.usage` → `reports`; `recon` (the face) → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every `recon` import in a file, at any depth (lazy ones too)."""
    found = []
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "recon"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                module = ".".join(base[: len(base) - node.level + 1] + ([module] if module else []))
            if module.split(".")[0] != "recon":
                continue
            if module == "recon":  # `from recon import core` names a subpackage, not the face
                for alias in node.names:
                    sub = f"recon.{alias.name}"
                    found.append((node.lineno, sub if alias.name in STAGES else "recon"))
            else:
                found.append((node.lineno, module))
    return found


def layering_violations(package: Path = PACKAGE) -> list[str]:
    """Every import that runs against the flow or reaches past the public face."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path, package)
        stage = _stage(module)
        if stage is None:  # the face itself loads names lazily from everywhere
            continue
        where = f"{path.relative_to(package.parent)}"
        for line, imported in _imports(path, package):
            target = _stage(imported)
            if stage in ADAPTERS:
                if target is not None and target != stage:
                    problems.append(
                        f"{where}:{line} imports {imported}: an adapter uses only the face `recon`"
                    )
                continue
            if target is None:
                problems.append(f"{where}:{line} imports the face `recon` from inside a stage")
                continue
            if target not in STAGES:
                problems.append(f"{where}:{line} imports {imported}, which is in no stage")
                continue
            allowed = ONLY.get(stage, set(STAGES[: STAGES.index(stage) + 1]))
            if target not in allowed:
                problems.append(f"{where}:{line} imports {imported}: {stage} may not use {target}")
    return problems


def test_every_import_runs_with_the_flow():
    assert layering_violations() == []


def test_every_module_belongs_to_a_stage():
    stray = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.stem not in ("__init__", "__main__") and p.stem not in STAGES
    ]
    assert stray == []
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(STAGES)


def test_no_module_is_a_hub():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize(
    ("stage", "source", "expected"),
    [
        (
            "ingest/bad.py",
            "from recon.reports.usage import report_usage\n",
            "ingest may not use reports",
        ),
        ("engine/bad.py", "from recon.home.layout import HomeLayout\n", "engine may not use home"),
        (
            "engine/bad.py",
            "def f():\n    from recon.ingest import lake\n",
            "engine may not use ingest",
        ),
        (
            "serve/bad.py",
            "from recon.reports.model import Report\n",
            "an adapter uses only the face",
        ),
        ("reports/bad.py", "from recon import Recon\n", "imports the face `recon` from inside"),
        ("core/bad.py", "from .. import reports\n", "core may not use reports"),
    ],
)
def test_the_walker_catches_an_arrow_against_the_flow(tmp_path, stage, source, expected):
    package = tmp_path / "recon"
    for name in STAGES:
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text("")
    (package / stage).write_text(source)
    problems = layering_violations(package)
    assert len(problems) == 1
    assert expected in problems[0]


def test_the_walker_allows_earlier_stages_and_the_face_for_adapters(tmp_path):
    package = tmp_path / "recon"
    for name in STAGES:
        (package / name).mkdir(parents=True)
    (package / "reports" / "ok.py").write_text(
        "from recon.core.errors import BadInputError\nfrom recon.engine import intervals\n"
        "from recon.reports.model import Report\n"
    )
    (package / "serve" / "ok.py").write_text("from recon import Recon\nfrom recon.serve import x\n")
    assert layering_violations(package) == []


def test_the_public_face_lists_exactly_what_it_loads():
    """`recon.__all__` is the face: every name in it loads, and nothing else is offered."""
    import recon

    offered = set(recon.__all__) - {"__version__"}
    assert offered == set(recon._FACE)
    for name in sorted(offered):
        assert getattr(recon, name) is not None, name


def test_adapters_use_only_names_the_face_offers():
    import recon

    offered = set(recon.__all__)
    used = set()
    for path in (PACKAGE / "serve").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "recon"
            ):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == "recon":
                used.update(alias.name for alias in node.names)
    assert used - offered == set()


def _pyspark_imports(path: Path) -> list[tuple[int, bool]]:
    """(line, at module level) of every pyspark import in a file (TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(n.split(".")[0] == "pyspark" for n in names):
            found.append((node.lineno, id(node) in top))
    return found


def test_only_the_spark_engine_imports_pyspark_and_only_when_it_runs():
    """pyspark is an optional extra: one module imports it, inside the functions that need it."""
    users = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := _pyspark_imports(path))
    }
    assert set(users) == {"recon/reports/spark.py"}
    assert not any(top for _, top in users["recon/reports/spark.py"])


def test_importing_recon_and_its_spark_module_loads_no_pyspark():
    import subprocess
    import sys

    code = (
        "import sys, recon, recon.api, recon.reports.spark, recon.serve.cli.main\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark')\n"
        "print(loaded)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert shown.stdout.strip() == "[]"
