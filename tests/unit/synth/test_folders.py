"""`recon generate` never overwrites a folder that is not empty unless --force (issue 19, #2)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from recon.core.errors import BadInputError
from recon.synth.generate import GeneratorSpec, generate
from tests.conftest import RECON, REPO

SMALL = ["--subjects", "50", "--customers", "5", "--format", "csv"]


def recon_generate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [RECON, "generate", str(folder), *SMALL, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    done.stderr = " ".join(done.stderr.split())  # as one line, however the console wrapped it
    return done


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    logs = tmp_path / "logs"
    first = recon_generate(logs, "--start", "2026-01-01", "--end", "2026-01-03")
    assert first.returncode == 0, first.stderr
    (logs / "notes.txt").write_text("mine")
    before = contents(logs)

    again = recon_generate(logs, "--start", "2026-01-01", "--end", "2026-01-03", "--seed", "8")
    assert again.returncode == 2
    assert f"log folder {logs} (DIR) is not empty (7 entries, e.g. events-2026-01-01.csv)" in (
        again.stderr
    )
    assert "--force" in again.stderr
    assert contents(logs) == before  # not one byte changed


def test_force_replaces_the_earlier_generated_logs_and_keeps_other_files(tmp_path):
    logs = tmp_path / "logs"
    assert recon_generate(logs, "--start", "2026-01-01", "--end", "2026-01-03").returncode == 0
    (logs / "notes.txt").write_text("mine")

    forced = recon_generate(logs, "--start", "2026-02-10", "--end", "2026-02-11", "--force")
    assert forced.returncode == 0, forced.stderr
    manifest = json.loads((logs / "manifest.json").read_text())
    events = sorted(p.name for p in logs.glob("events-*"))
    assert events == sorted(manifest["files"])  # no day of the earlier run is left behind
    assert not [name for name in events if name.startswith("events-2026-01-")]
    assert (logs / "notes.txt").read_text() == "mine"


def test_a_vendor_folder_that_is_not_empty_is_refused_before_anything_is_written(tmp_path):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "vendor-USER-2026-09.csv").write_text("another month\n")
    args = ["--start", "2026-10-01", "--end", "2026-10-03", "--vendor-month", "2026-10"]

    refused = recon_generate(tmp_path / "logs", *args, "--vendor-dir", str(vendor))
    assert refused.returncode == 2
    assert f"vendor folder {vendor} (--vendor-dir) is not empty (1 entries" in refused.stderr
    assert "--force" in refused.stderr
    assert not (tmp_path / "logs").exists()  # refused before the logs were written

    forced = recon_generate(tmp_path / "logs", *args, "--vendor-dir", str(vendor), "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in vendor.iterdir()) == [
        "vendor-CUSTOMER-2026-10.csv",
        "vendor-LOCATION-2026-10.csv",
        "vendor-PARTNER-2026-10.csv",
        "vendor-USER-2026-09.csv",
        "vendor-USER-2026-10.csv",
        "vendor-manifest-2026-10.json",
    ]
    assert (vendor / "vendor-USER-2026-09.csv").read_text() == "another month\n"


def test_the_library_refuses_too_and_a_foreign_manifest_deletes_nothing(tmp_path):
    spec = GeneratorSpec(
        start=date(2026, 1, 1),
        end=date(2026, 1, 2),
        subjects=40,
        customers=4,
        format="csv",
    )
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "keep.csv").write_text("x\n")
    # A manifest that names files generate never writes: --force must not delete them.
    (folder / "manifest.json").write_text(json.dumps({"spec": {}, "files": ["keep.csv", "../x"]}))
    with pytest.raises(BadInputError, match="is not empty"):
        generate(folder, spec)
    generate(folder, spec, force=True)
    assert (folder / "keep.csv").read_text() == "x\n"


def test_make_sample_clears_both_folders_before_generating():
    recipe = (REPO / "Makefile").read_text().split("\nsample:", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()[1:]]
    generating = next(i for i, line in enumerate(lines) if "recon generate data/sample" in line)
    assert "rm -rf data/sample" in lines[:generating]
    assert "rm -rf data/vendor" in lines[:generating]
