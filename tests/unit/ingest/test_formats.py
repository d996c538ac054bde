"""The partner's own logs (issue 19, item 10): their column names, their local timestamps,
compressed files, UTF-16, and a file without a required column refused as a whole."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from recon.api import Recon
from recon.core.config import load_settings
from recon.core.errors import BadInputError
from recon.ingest.lake import scan_events, scan_quarantine
from recon.ingest.run import ingest_paths
from tests.conftest import FROZEN_NOW, RECON, raw_row

FIELDS = list(raw_row())
THEIRS = {"event_id": "EventRef", "occurred_at": "Timestamp", "action": "Operation"}


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    buffer = io.StringIO()
    names = header or FIELDS
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([row.get(n, "") for n in names])
    return buffer.getvalue()


def partner_row(**fields: str) -> dict[str, str]:
    """A valid row under the partner's own names for event_id, occurred_at and action."""
    row = raw_row(**fields)
    return {THEIRS.get(k, k): v for k, v in row.items()}


PARTNER_HEADER = [THEIRS.get(f, f) for f in FIELDS]


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def home_with(tmp_path: Path, toml: str) -> Recon:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "recon.toml").write_text(toml, encoding="utf-8")
    return Recon(home)


def lake(rc: Recon) -> list[tuple[str, datetime, str]]:
    events = scan_events(rc.layout).collect().sort("event_id")
    return events.select("event_id", "occurred_at", "source_file").rows()


def quarantine(rc: Recon) -> list[tuple[str, str, str]]:
    rows = scan_quarantine(rc.layout).collect().sort("event_id")
    return rows.select("event_id", "reason", "detail").rows()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ------------------------------------------------------------------------------ column mapping


MAPPING_TOML = (
    '[ingest.columns]\nevent_id = "EventRef"\noccurred_at = "Timestamp"\naction = "Operation"\n'
)


def test_the_partners_column_names_are_mapped_from_recon_toml(tmp_path):
    rc = home_with(tmp_path, MAPPING_TOML)
    log = write(
        tmp_path / "logs" / "theirs.csv",
        csv_text(
            [
                partner_row(event_id="p1", user_id="u1"),
                partner_row(event_id="p2", user_id="u2", occurred_at="2026-03-02T10:00:00Z"),
                partner_row(event_id="p3", action="NOPE"),
            ],
            PARTNER_HEADER,
        ),
    )
    jsonl = write(
        tmp_path / "logs" / "theirs.jsonl",
        json.dumps(partner_row(event_id="p4", user_id="u4")) + "\n",
    )
    result = rc.ingest([log, jsonl])
    assert (result.rows_read, result.accepted, result.quarantined) == (4, 3, 1)
    assert result.failed_files == []
    assert lake(rc) == [
        ("p1", utc(2026, 3, 1, 10), str(log)),
        ("p2", utc(2026, 3, 2, 10), str(log)),
        ("p4", utc(2026, 3, 1, 10), str(jsonl)),
    ]
    assert quarantine(rc) == [
        ("p3", "INVALID_ACTION", "action 'NOPE' is not one of ASSIGN, UNASSIGN")
    ]
    # The quarantined row is kept as the partner wrote it, under the partner's column names.
    original = json.loads(scan_quarantine(rc.layout).collect()["original"][0])
    assert (original["eventref"], original["operation"]) == ("p3", "NOPE")
    assert "event_id" not in original


def test_a_mapping_can_be_given_for_one_call(tmp_path):
    rc = Recon(tmp_path / "home")
    rc.layout.ensure()
    log = write(
        tmp_path / "logs" / "theirs.csv",
        csv_text([partner_row(event_id="c1")], PARTNER_HEADER),
    )
    result = ingest_paths(
        [log],
        rc.layout,
        rc.layout.catalog,
        datetime(2026, 11, 21, 12, tzinfo=UTC),
        columns={"event_id": "EventRef", "occurred_at": "timestamp", "action": " OPERATION "},
    )
    assert (result.rows_read, result.accepted) == (1, 1)
    assert [row[0] for row in lake(rc)] == ["c1"]


def test_an_unknown_name_in_the_mapping_is_an_error_naming_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "recon.toml").write_text(
        '[ingest.columns]\nevent_id = "EventRef"\nevent_time = "T"\nfoo = "x"\n'
    )
    with pytest.raises(BadInputError) as caught:
        Recon(home).ingest([write(tmp_path / "logs" / "a.csv", csv_text([raw_row()]))])
    assert caught.value.message == (
        "recon.toml [ingest.columns]: unknown column name(s) event_time, foo in the column mapping"
    )
    assert caught.value.hint == (
        "the names on the left are recon's: event_id, occurred_at, action, partner_org_id, "
        "partner_name, subscription_id, sub_partner_org_id, customer_org_id, "
        "customer_external_id, location_id, user_id, subscriber_id, workspace_id, package, sku, "
        "license_id"
    )
    rc = Recon(tmp_path / "other")
    rc.layout.ensure()
    with pytest.raises(BadInputError, match=r"^columns=: unknown column name\(s\) evnt_id in"):
        ingest_paths(
            [tmp_path / "logs"],
            rc.layout,
            rc.layout.catalog,
            datetime(2026, 11, 21, 12, tzinfo=UTC),
            columns={"evnt_id": "EventRef"},
        )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[ingest]\ncolumn = 1\n", "unknown key(s) column in [ingest] of recon.toml"),
        (
            '[ingest.columns]\nevent_id = "Ref"\naction = "ref"\n',
            "recon.toml [ingest.columns]: column 'ref' is mapped to both event_id and action",
        ),
        ('[ingest.columns]\nevent_id = ""\n', "the column mapped to event_id must be a non-empty"),
        ('[ingest]\ntimezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
        (
            '[ingest.sources."x.csv"]\ntimezone = "UTC"\ncolour = "red"\n',
            'unknown key(s) colour in [ingest.sources."x.csv"] of recon.toml',
        ),
    ],
)
def test_a_bad_ingest_section_is_a_clear_error(tmp_path, toml, message):
    (tmp_path / "recon.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        load_settings(tmp_path)
    assert message in str(caught.value)


def test_a_file_with_both_names_for_a_column_is_refused(tmp_path):
    rc = home_with(tmp_path, '[ingest.columns]\nevent_id = "EventRef"\n')
    both = write(
        tmp_path / "logs" / "both.csv",
        csv_text([{**raw_row(), "EventRef": "x"}], [*FIELDS, "EventRef"]),
    )
    result = rc.ingest([both])
    assert result.rows_read == 0
    assert [f.error for f in result.failed_files] == [
        f"{both}: has both event_id and EventRef, which the column mapping maps to the same "
        "column (drop one of them from the file, or from [ingest.columns] in recon.toml)"
    ]


# ------------------------------------------------------------------------------ missing columns


def test_a_file_missing_a_required_column_is_refused_as_a_whole(tmp_path):
    rc = Recon(tmp_path / "home")
    header = [f for f in FIELDS if f not in ("action", "package")]
    missing = write(
        tmp_path / "logs" / "missing.csv",
        csv_text([raw_row(event_id=f"m{i}") for i in range(5000)], header),
    )
    good = write(tmp_path / "logs" / "good.csv", csv_text([raw_row(event_id="g1")]))
    result = rc.ingest([tmp_path / "logs"])
    assert (result.rows_read, result.accepted, result.quarantined) == (1, 1, 0)
    assert [(f.path, f.rows_read, f.error) for f in result.failed_files] == [
        (
            str(missing),
            0,
            f"{missing}: missing required column(s) action, package; the whole file was "
            "refused (its columns: event_id, occurred_at, partner_org_id, partner_name, "
            "subscription_id, sub_partner_org_id, customer_org_id, customer_external_id, ...) "
            "(rename the columns in the file, or map them in recon.toml under "
            "[ingest.columns], as recon's name = your column's name, "
            'e.g. event_id = "EventRef")',
        )
    ]
    assert [row[0] for row in lake(rc)] == ["g1"]
    assert quarantine(rc) == []
    assert str(good) in {f.path for f in result.files}


def test_a_missing_column_names_the_mapping_that_did_not_match(tmp_path):
    rc = home_with(tmp_path, '[ingest.columns]\naction = "Op"\n')
    header = [f for f in FIELDS if f not in ("user_id", "workspace_id", "subscriber_id", "action")]
    log = write(
        tmp_path / "logs" / "nosubject.jsonl", json.dumps(dict.fromkeys(header, "x")) + "\n"
    )
    result = rc.ingest([log])
    assert result.failed_files[0].error is not None
    assert result.failed_files[0].error.startswith(
        f"{log}: missing required column(s) action (mapped to 'Op', which the file does not "
        "have), user_id or workspace_id; the whole file was refused"
    )


def test_the_cli_exits_2_and_says_which_column_is_missing(tmp_path):
    header = [f for f in FIELDS if f != "occurred_at"]
    log = write(tmp_path / "logs" / "no-time.csv", csv_text([raw_row()], header))
    done = subprocess.run(
        [RECON, "--home", str(tmp_path / "home"), "ingest", str(log), "--json"],
        env={**os.environ, "RECON_NOW": FROZEN_NOW},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    counts = json.loads(done.stdout)
    assert (counts["rowsRead"], counts["quarantined"]) == (0, 0)
    assert counts["files"][0]["error"].startswith(
        f"{log}: missing required column(s) occurred_at; the whole file was refused"
    )


def _recon(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RECON, "--home", str(tmp_path / "home"), *args],
        env={**os.environ, "RECON_NOW": FROZEN_NOW},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_cli_maps_columns_and_reads_naive_times_in_a_zone(tmp_path):
    row = partner_row(event_id="k1", occurred_at="2026-10-25T02:30:00")  # Stockholm, autumn DST
    log = write(tmp_path / "logs" / "theirs.csv", csv_text([row], PARTNER_HEADER))
    maps = ["--map", "event_id=EventRef", "--map", "occurred_at=Timestamp"]
    done = _recon(
        tmp_path,
        "ingest",
        str(log),
        *maps,
        "--map",
        "action=Operation",
        "--json",
        "--tz",
        "Europe/Stockholm",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 1
    # 02:30 happens twice that night; the earlier instant (summer time, +02:00) is taken.
    assert [row[:2] for row in lake(Recon(tmp_path / "home"))] == [("k1", utc(2026, 10, 25, 0, 30))]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "event_id"], "--map 'event_id' is not recon's column = your column"),
        (["--map", "nonsense=EventRef"], "unknown column name(s) nonsense"),
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_map_or_zone_on_the_cli_is_exit_2(tmp_path, args, message):
    log = write(tmp_path / "logs" / "ours.csv", csv_text([raw_row()]))
    done = _recon(tmp_path, "ingest", str(log), *args)
    assert done.returncode == 2, done.stderr
    assert message in " ".join(done.stderr.split())
    assert not (tmp_path / "home" / "lake").exists() or not list(
        (tmp_path / "home" / "lake").rglob("*.parquet")
    )


# ------------------------------------------------------------------------------ naive timestamps


def test_naive_times_are_local_in_the_declared_zone_also_on_dst_days(tmp_path):
    rc = home_with(tmp_path, '[ingest]\ntimezone = "Europe/Stockholm"\n')
    times = {
        "n1": "2026-03-29T01:30:00",  # CET, before the spring change
        "n2": "2026-03-29T02:30:00",  # skipped: clocks go 02:00 -> 03:00
        "n3": "2026-03-29 03:30",  # CEST, after it
        "n4": "2026-10-25T02:30:00",  # happens twice: the earlier (CEST) instant
        "n5": "2026-10-25T03:30:00.25",  # CET again
        "n6": "2026-10-25T02:30:00+01:00",  # an offset always wins over the zone
        "n7": "2026-10-25",  # a date is not an instant
        "n8": "2026-02-30T10:00:00",  # not a date at all
    }
    log = write(
        tmp_path / "logs" / "local.csv",
        csv_text([raw_row(event_id=k, occurred_at=v, user_id=k) for k, v in times.items()]),
    )
    result = rc.ingest([log])
    assert (result.rows_read, result.accepted, result.quarantined) == (8, 5, 3)
    assert [row[:2] for row in lake(rc)] == [
        ("n1", utc(2026, 3, 29, 0, 30)),
        ("n3", utc(2026, 3, 29, 1, 30)),
        ("n4", utc(2026, 10, 25, 0, 30)),
        ("n5", datetime(2026, 10, 25, 2, 30, 0, 250000, tzinfo=UTC)),
        ("n6", utc(2026, 10, 25, 1, 30)),
    ]
    assert quarantine(rc) == [
        (
            "n2",
            "INVALID_TIMESTAMP",
            "occurred_at '2026-03-29T02:30:00' does not exist in Europe/Stockholm: the clocks "
            "skip that time (summer time starts)",
        ),
        ("n7", "INVALID_TIMESTAMP", "occurred_at '2026-10-25' is a date without a time of day"),
        ("n8", "INVALID_TIMESTAMP", "occurred_at '2026-02-30T10:00:00' is not an ISO 8601 instant"),
    ]


def test_a_zone_per_source_and_naive_times_elsewhere_still_rejected(tmp_path):
    rc = home_with(
        tmp_path,
        '[ingest.sources."stockholm-*.csv"]\ntimezone = "Europe/Stockholm"\n'
        '[ingest.sources."new-york/*"]\ntimezone = "America/New_York"\n',
    )
    logs = tmp_path / "logs"
    write(
        logs / "stockholm-1.csv",
        csv_text([raw_row(event_id="s1", occurred_at="2026-07-01T12:00:00")]),
    )
    write(
        logs / "new-york" / "a.jsonl",
        "\n".join(
            json.dumps(raw_row(event_id=e, occurred_at=t, user_id=e))
            for e, t in [
                ("y1", "2026-07-01T12:00:00"),
                ("y2", "2026-03-08T02:30:00"),  # skipped in New York
                ("y3", "2026-11-01T01:30:00"),  # twice: the earlier (EDT) instant
            ]
        )
        + "\n",
    )
    write(logs / "other.csv", csv_text([raw_row(event_id="o1", occurred_at="2026-07-01T12:00:00")]))
    result = rc.ingest([logs])
    assert (result.rows_read, result.accepted, result.quarantined) == (5, 3, 2)
    assert [row[:2] for row in lake(rc)] == [
        ("s1", utc(2026, 7, 1, 10)),
        ("y1", utc(2026, 7, 1, 16)),
        ("y3", utc(2026, 11, 1, 5, 30)),
    ]
    assert [row[:2] for row in quarantine(rc)] == [
        ("o1", "NAIVE_TIMESTAMP"),
        ("y2", "INVALID_TIMESTAMP"),
    ]


def test_naive_parquet_datetimes_take_the_zone_too(tmp_path):
    rc = home_with(tmp_path, '[ingest]\ntimezone = "Europe/Stockholm"\n')
    frame = pl.DataFrame([raw_row(event_id="q1")]).with_columns(
        occurred_at=pl.Series([datetime(2026, 1, 15, 9, 0)])
    )
    path = tmp_path / "logs" / "naive.parquet"
    path.parent.mkdir(parents=True)
    frame.write_parquet(path)
    assert rc.ingest([path]).accepted == 1
    assert [row[:2] for row in lake(rc)] == [("q1", utc(2026, 1, 15, 8))]


# ------------------------------------------------------------------------------ compressed inputs


def test_gzip_files_are_read_and_say_so(tmp_path):
    rc = Recon(tmp_path / "home")
    logs = tmp_path / "logs"
    write(logs / "a.csv.gz", gzip.compress(csv_text([raw_row(event_id="z1")]).encode()))
    write(logs / "b.jsonl.gz", gzip.compress((json.dumps(raw_row(event_id="z2")) + "\n").encode()))
    write(logs / "c.ndjson.gz", gzip.compress((json.dumps(raw_row(event_id="z3")) + "\n").encode()))
    result = rc.ingest([logs])
    assert [(Path(f.path).name, f.format, f.accepted, f.notes) for f in result.files] == [
        ("a.csv.gz", "csv+gzip", 1, []),
        ("b.jsonl.gz", "jsonl+gzip", 1, []),
        ("c.ndjson.gz", "jsonl+gzip", 1, []),
    ]
    assert result.files[0].sha256 == hashlib.sha256((logs / "a.csv.gz").read_bytes()).hexdigest()
    assert [row[0] for row in lake(rc)] == ["z1", "z2", "z3"]
    again = rc.ingest([logs])
    assert (again.accepted, again.duplicates) == (0, 3)


def test_gzip_is_found_by_content_whatever_the_name(tmp_path):
    rc = Recon(tmp_path / "home")
    logs = tmp_path / "logs"
    write(logs / "hidden-gzip.csv", gzip.compress(csv_text([raw_row(event_id="h1")]).encode()))
    write(logs / "not-gzip.csv.gz", csv_text([raw_row(event_id="h2")]))
    result = rc.ingest([logs])
    assert [(Path(f.path).name, f.format, f.accepted, f.notes) for f in result.files] == [
        (
            "hidden-gzip.csv",
            "csv+gzip",
            1,
            ["gzip-compressed (found by content; its name does not end in .gz)"],
        ),
        ("not-gzip.csv.gz", "csv", 1, ["named .gz but not gzip-compressed; read as plain"]),
    ]
    assert rc.sql("SELECT path, format FROM ingested_files ORDER BY path").rows() == [
        (str(logs / "hidden-gzip.csv"), "csv+gzip"),
        (str(logs / "not-gzip.csv.gz"), "csv"),
    ]


def test_a_truncated_gzip_file_is_a_clear_error(tmp_path):
    data = gzip.compress(csv_text([raw_row(event_id=f"t{i}") for i in range(200)]).encode())
    log = write(tmp_path / "logs" / "cut.csv.gz", data[: len(data) // 2])
    result = Recon(tmp_path / "home").ingest([log])
    assert len(result.failed_files) == 1
    assert result.failed_files[0].error is not None
    assert result.failed_files[0].error.startswith(
        f"{log}: the gzip stream is damaged after row 0:"
    )


def test_each_log_in_a_zip_is_a_source_of_its_own(tmp_path):
    rc = Recon(tmp_path / "home")
    archive = tmp_path / "logs" / "october.zip"
    archive.parent.mkdir(parents=True)
    member_csv = csv_text([raw_row(event_id="m1"), raw_row(event_id="m2", action="NOPE")]).encode()
    parquet = io.BytesIO()
    pl.DataFrame([raw_row(event_id="m4")]).write_parquet(parquet)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("day1.csv", member_csv)
        bundle.writestr("more/day2.jsonl", json.dumps(raw_row(event_id="m3")) + "\n")
        bundle.writestr("day3.parquet", parquet.getvalue())
        bundle.writestr("day4.csv.gz", gzip.compress(csv_text([raw_row(event_id="m5")]).encode()))
        bundle.writestr("README.txt", "hello")
        bundle.writestr("inner.zip", b"PK")
    result = rc.ingest([archive])
    assert [(f.path, f.format, f.rows_read, f.accepted) for f in result.files] == [
        (f"{archive}!day1.csv", "csv", 2, 1),
        (f"{archive}!day3.parquet", "parquet", 1, 1),
        (f"{archive}!day4.csv.gz", "csv+gzip", 1, 1),
        (f"{archive}!more/day2.jsonl", "jsonl", 1, 1),
    ]
    assert result.skipped == [
        {
            "path": f"{archive}!README.txt",
            "reason": "not a log file (expected .csv, .jsonl, .ndjson, .parquet)",
        },
        {
            "path": f"{archive}!inner.zip",
            "reason": "a zip inside a zip is not read; unpack the outer one",
        },
    ]
    assert result.files[0].sha256 == hashlib.sha256(member_csv).hexdigest()
    assert [(row[0], row[2]) for row in lake(rc)] == [
        ("m1", f"{archive}!day1.csv"),
        ("m3", f"{archive}!more/day2.jsonl"),
        ("m4", f"{archive}!day3.parquet"),
        ("m5", f"{archive}!day4.csv.gz"),
    ]
    assert scan_quarantine(rc.layout).collect()["source_file"].to_list() == [f"{archive}!day1.csv"]
    again = rc.ingest([archive])
    assert (again.rows_read, again.accepted, again.duplicates, again.quarantined) == (5, 0, 4, 1)
    assert scan_quarantine(rc.layout).collect().height == 1


def test_a_damaged_zip_is_a_clear_error(tmp_path):
    archive = write(tmp_path / "logs" / "bad.zip", b"PK\x03\x04 not really a zip")
    result = Recon(tmp_path / "home").ingest([archive])
    assert [(f.path, f.format) for f in result.failed_files] == [(str(archive), "zip")]
    assert (result.failed_files[0].error or "").startswith(
        f"{archive}: cannot be read as a zip archive: "
    )


# ------------------------------------------------------------------------------ UTF-16


def test_utf16_is_found_by_its_byte_order_mark_and_decoded(tmp_path):
    rc = Recon(tmp_path / "home")
    logs = tmp_path / "logs"
    row = raw_row(event_id="w1", partner_name="Télé Öst AB")
    write(logs / "le.csv", csv_text([row]).encode("utf-16"))  # little-endian, with its BOM
    write(
        logs / "be.jsonl",
        b"\xfe\xff" + (json.dumps({**row, "event_id": "w2"}) + "\n").encode("utf-16-be"),
    )
    write(logs / "gz.csv.gz", gzip.compress(csv_text([{**row, "event_id": "w3"}]).encode("utf-16")))
    result = rc.ingest([logs])
    assert [(Path(f.path).name, f.format, f.accepted, f.notes) for f in result.files] == [
        ("be.jsonl", "jsonl (UTF-16)", 1, ["UTF-16 (byte-order mark); decoded to UTF-8"]),
        ("gz.csv.gz", "csv+gzip (UTF-16)", 1, ["UTF-16 (byte-order mark); decoded to UTF-8"]),
        ("le.csv", "csv (UTF-16)", 1, ["UTF-16 (byte-order mark); decoded to UTF-8"]),
    ]
    names = scan_events(rc.layout).collect().sort("event_id")["partner_name"].to_list()
    assert names == ["Télé Öst AB"] * 3


def test_a_big_utf16_csv_goes_the_careful_way_and_keeps_every_row(tmp_path, monkeypatch):
    monkeypatch.setenv("RECON_FAST_CSV_BYTES", "0")
    monkeypatch.setenv("RECON_INGEST_BATCH_ROWS", "7")
    rows = [raw_row(event_id=f"r{i:02d}", user_id=f"u{i}") for i in range(20)]
    log = write(tmp_path / "logs" / "big.csv", csv_text(rows).encode("utf-16"))
    result = Recon(tmp_path / "home").ingest([log])
    assert (result.rows_read, result.accepted, result.files[0].format) == (20, 20, "csv (UTF-16)")
