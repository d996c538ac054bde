"""`recon run --engine spark` as a user runs it: the golden CSVs, or a clear exit 2.

The monthly batch on Spark (local[2], one real subprocess) writes the same four report CSVs
as the embedded engine, byte for byte (the golden files are the embedded engine's). Without
Java or pyspark, `--engine spark` says what to install and exits 2, never falling back.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.conftest import RECON, SAMPLE, run

GOLDEN = Path(__file__).parent / "golden"


def test_the_sample_month_on_spark_gives_the_golden_csvs(tmp_path):
    result = run(
        tmp_path / "home",
        "run",
        "--month",
        "2026-10",
        "--logs",
        str(SAMPLE),
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
        "--json",
    )
    assert result.returncode == 4, result.stderr  # nothing to compare: no vendor files given
    reports = json.loads(result.stdout)["reports"]
    assert [r["type"] for r in reports] == ["PARTNER", "CUSTOMER", "LOCATION", "USER"]
    for report in reports:
        assert report["reportStatus"] == "COMPLETED", report
        golden = GOLDEN / f"{report['type'].lower()}_2026-10.csv"
        assert Path(report["csvPath"]).read_bytes() == golden.read_bytes(), report["type"]


def _without_java(tmp_path: Path) -> dict[str, str]:
    """The environment with no java to be found: PATH holds only this Python's folder."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(RECON).parent)
    return env


def test_without_java_spark_says_what_to_install_and_exits_2(tmp_path):
    home = tmp_path / "home"
    env = _without_java(tmp_path)
    created = run(
        home, "report", "create", "--type", "USER", "--start", "2026-10-01",
        "--end", "2026-10-31", "--engine", "spark", env=env,
    )  # fmt: skip
    assert created.returncode == 2, created.stderr
    assert "--engine spark needs Java, and none was found" in created.stderr
    assert "openjdk-17-jre-headless" in created.stderr
    batch = run(home, "run", "--month", "2026-10", "--logs", str(SAMPLE), "--engine", "spark",
                env=env)  # fmt: skip
    assert batch.returncode == 2, batch.stderr
    assert "needs Java" in batch.stderr
    assert not home.exists(), "nothing is ingested or registered (not even FAILED) first"


def test_without_pyspark_spark_says_what_to_install_and_exits_2(tmp_path):
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoSpark:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyspark' or name.startswith('pyspark.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoSpark())\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), *sys.path[1:]])}
    result = run(
        tmp_path / "home", "run", "--month", "2026-10", "--logs", str(SAMPLE),
        "--engine", "spark", env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--engine spark needs pyspark, which is not installed" in result.stderr
    assert "pip install 'recon[spark]'" in result.stderr


def test_recon_toml_chooses_the_engine_and_a_typo_is_exit_2(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "recon.toml").write_text('[engine]\nengine = "spark"\n')
    no_java = run(
        home, "report", "create", "--type", "USER", "--start", "2026-10-01",
        "--end", "2026-10-31", env=_without_java(tmp_path),
    )  # fmt: skip
    assert no_java.returncode == 2
    assert "needs Java" in no_java.stderr  # the home's engine applied: no silent embedded run
    typo = run(home, "report", "create", "--type", "USER", "--start", "2026-10-01",
               "--end", "2026-10-31", "--engine", "sparky")  # fmt: skip
    assert typo.returncode == 2
    assert "unknown engine 'sparky'" in typo.stderr
