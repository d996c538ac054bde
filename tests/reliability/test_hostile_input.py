"""Hostile and broken input: every file gets a specific answer, good rows survive, the lake too."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.api import Recon
from recon.ingest.lake import scan_events, scan_quarantine
from tests.conftest import raw_row

FIELDS = list(raw_row())


def csv_text(
    rows: list[dict[str, str]], header: list[str] | None = None, delimiter: str = ","
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    names = header or FIELDS
    writer.writerow(names)
    for row in rows:
        writer.writerow([row.get(n, "") for n in names])
    return buffer.getvalue()


GOOD = csv_text([raw_row(event_id="g1"), raw_row(event_id="g2", user_id="u2")])
GOOD_ROW = csv_text([raw_row(event_id="g3", user_id="u3")]).splitlines()[1]


def ingest_bytes(tmp_path: Path, name: str, data: bytes) -> tuple[Recon, object]:
    path = tmp_path / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    rc = Recon(tmp_path / "home")
    return rc, rc.ingest([path])


def quarantined(rc: Recon) -> list[tuple[int, str, str]]:
    rows = scan_quarantine(rc.layout).collect().sort("source_row")
    return list(zip(rows["source_row"], rows["reason"], rows["detail"], strict=True))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("header-only.csv", (",".join(FIELDS) + "\n").encode()),
        ("blank-lines.jsonl", b"\n\n  \n"),
        ("empty.jsonl", b""),
    ],
)
def test_empty_inputs_are_fine_and_count_nothing(tmp_path, name, data):
    _, result = ingest_bytes(tmp_path, name, data)
    assert (result.rows_read, result.failed_files) == (0, [])


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "semicolons.csv",
            csv_text([raw_row()], delimiter=";").encode(),
            "separated by semicolons, not commas",
        ),
        (
            "tabs.csv",
            csv_text([raw_row()], delimiter="\t").encode(),
            "separated by tabs, not commas",
        ),
        ("garbage.csv", bytes(range(256)) * 40, "not an event log"),
        ("garbage.parquet", b"PAR1" + bytes(range(256)) * 8, "cannot be read as Parquet"),
        (
            "other.csv",
            b"name,amount\nx,1\n",
            "not an event log (it has none of the columns event_id",
        ),
    ],
)
def test_unreadable_files_get_a_specific_error(tmp_path, name, data, message):
    rc, result = ingest_bytes(tmp_path, name, data)
    assert len(result.failed_files) == 1
    assert message in (result.failed_files[0].error or "")
    assert str(tmp_path / "logs" / name) in (result.failed_files[0].error or "")
    assert scan_events(rc.layout).collect().height == 0


def test_invalid_utf8_costs_only_its_row(tmp_path):
    lines = GOOD.encode().splitlines()
    bad = lines[1].replace(b"Partner One", b"Partner \xff\xfe One").replace(b"g1", b"b1")
    rc, result = ingest_bytes(tmp_path, "utf8.csv", b"\n".join([lines[0], bad, *lines[1:]]) + b"\n")
    assert (result.rows_read, result.accepted, result.quarantined) == (3, 2, 1)
    assert quarantined(rc) == [
        (1, "MALFORMED_ROW", "row cannot be parsed: invalid UTF-8 in partner_name")
    ]
    original = scan_quarantine(rc.layout).collect()["original"][0]
    assert "Partner \ufffd\ufffd One" in original


def test_ragged_rows_cost_only_themselves(tmp_path):
    lines = GOOD.splitlines()
    data = "\n".join([lines[0], lines[1] + ",extra,fields", lines[2], "only,three,fields"]) + "\n"
    rc, result = ingest_bytes(tmp_path, "ragged.csv", data.encode())
    assert (result.rows_read, result.accepted, result.quarantined) == (3, 1, 2)
    assert [(r, reason) for r, reason, _ in quarantined(rc)] == [
        (1, "MALFORMED_ROW"),
        (3, "MALFORMED_ROW"),
    ]
    assert "has 18 fields, the header has 16" in quarantined(rc)[0][2]
    assert (
        json.loads(scan_quarantine(rc.layout).collect().sort("source_row")["original"][0])[-1]
        == "fields"
    )


def test_bom_crlf_quoted_newlines_and_header_case_are_fine(tmp_path):
    row = raw_row(event_id="q1", partner_name="Partner\nwith a newline, and a comma")
    body = csv_text([row]).split("\n", 1)[1]
    text = (",".join(f" {f.upper()} " for f in FIELDS) + "\n" + body).replace("\n", "\r\n")
    text = text.replace("Partner\r\nwith", "Partner\nwith")  # the quoted newline stays a newline
    rc, result = ingest_bytes(tmp_path, "bom.csv", b"\xef\xbb\xbf" + text.encode())
    assert (result.accepted, result.quarantined) == (1, 0)
    assert scan_events(rc.layout).collect()["partner_name"].to_list() == [
        "Partner\nwith a newline, and a comma"
    ]


def test_extra_columns_are_kept_in_the_original(tmp_path):
    """A file missing a required column is refused whole (see the ingest format tests);
    an extra column is carried into the quarantine's original row."""
    header = [f for f in FIELDS if f != "sku"] + ["comment"]  # sku is optional
    rows = [{**raw_row(event_id="m1", action="NOPE"), "comment": "hi"}]
    rc, result = ingest_bytes(tmp_path, "extra.csv", csv_text(rows, header=header).encode())
    assert (result.accepted, result.quarantined) == (0, 1)
    assert quarantined(rc)[0][1] == "INVALID_ACTION"
    assert json.loads(scan_quarantine(rc.layout).collect()["original"][0])["comment"] == "hi"


def test_a_ten_megabyte_field_is_rejected_without_fuss(tmp_path):
    rows = [raw_row(event_id="big", partner_name="x" * 10_000_000), raw_row(event_id="ok")]
    rc, result = ingest_bytes(tmp_path, "big.csv", csv_text(rows).encode())
    assert (result.accepted, result.quarantined) == (1, 1)
    assert quarantined(rc)[0][1:] == (
        "FIELD_TOO_LONG",
        "partner_name is 10000000 characters long, the limit is 500",
    )
    assert len(scan_quarantine(rc.layout).collect()["original"][0]) == 64 * 1024


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"occurred_at": "2026-03-01T10:00:00"}, "NAIVE_TIMESTAMP"),
        ({"occurred_at": "9999-12-31T23:59:59Z"}, "TIMESTAMP_OUT_OF_RANGE"),
        ({"occurred_at": "1970-01-01T00:00:00Z"}, "TIMESTAMP_OUT_OF_RANGE"),
        ({"action": "DELETE"}, "INVALID_ACTION"),
        ({"package": "WEBEX_TELEPATHY"}, "UNKNOWN_PACKAGE"),
        ({"sku": "PLACEHOLDER-SKU-STE-0004"}, "SKU_MISMATCH"),
        ({"occurred_at": "1"}, "INVALID_TIMESTAMP"),
    ],
)
def test_bad_values_in_each_format(tmp_path, fields, reason):
    row = raw_row(event_id="bad", **fields)
    good = raw_row(event_id="good")
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.csv").write_text(csv_text([row, good]))
    (folder / "b.jsonl").write_text(
        json.dumps({**row, "event_id": "bad-j"})
        + "\n"
        + json.dumps({**good, "event_id": "good-j"})
        + "\n"
    )
    pl.DataFrame([{**row, "event_id": "bad-p"}, {**good, "event_id": "good-p"}]).write_parquet(
        folder / "c.parquet"
    )
    rc = Recon(tmp_path / "home")
    result = rc.ingest([folder])
    assert (result.rows_read, result.accepted, result.quarantined) == (6, 3, 3)
    assert result.reasons == {reason: 3}


def test_truncated_parquet_keeps_what_came_before_the_damage(tmp_path):
    frame = pl.DataFrame([raw_row(event_id=f"p{i}", user_id=f"u{i}") for i in range(3000)])
    path = tmp_path / "logs" / "cut.parquet"
    path.parent.mkdir()
    frame.write_parquet(path, row_group_size=1000)
    intact = Recon(tmp_path / "intact").ingest([path])
    assert intact.accepted == 3000
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = Recon(tmp_path / "home").ingest([path])
    assert result.failed_files and "cannot be read as Parquet" in (
        result.failed_files[0].error or ""
    )


def test_a_folder_with_unrelated_files(tmp_path):
    folder = tmp_path / "logs"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.csv").write_text(GOOD)
    (folder / "README.txt").write_text("notes")
    (folder / "nested" / "report.csv").write_text("PARTNER_NAME,QUANTITY\nx,1\n")
    (folder / ".hidden.csv.swp").write_text("x")
    result = Recon(tmp_path / "home").ingest([folder])
    assert result.accepted == 2
    assert [s["path"].split("/")[-1] for s in result.skipped] == ["README.txt"]
    assert [Path(f.path).name for f in result.failed_files] == ["report.csv"]


def test_nothing_stored_is_damaged_by_a_bad_file(tmp_path):
    rc, _ = ingest_bytes(tmp_path, "good.csv", GOOD.encode())
    before = scan_events(rc.layout).collect().sort("event_id")
    (tmp_path / "logs" / "bad.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "logs" / "worse.csv").write_bytes(b"\x00\x01\x02" * 1000)
    rc.ingest([tmp_path / "logs"])
    assert (
        scan_events(rc.layout)
        .collect()
        .sort("event_id")
        .drop("ingest_id")
        .equals(before.drop("ingest_id"))
    )


GARBAGE = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=2000).map(str.encode),
    st.lists(st.lists(st.text(max_size=20), max_size=20), max_size=30).map(
        lambda rows: "\n".join([",".join(FIELDS), *[",".join(r) for r in rows]]).encode()
    ),
    st.lists(st.sampled_from([GOOD_ROW, "x,y", "\xff", '"unterminated', ""]), max_size=30).map(
        lambda lines: "\n".join([",".join(FIELDS), *lines]).encode(
            "utf-8", errors="surrogateescape"
        )
    ),
)


@settings(max_examples=60)
@given(GARBAGE, st.sampled_from(["csv", "jsonl", "parquet"]))
def test_fuzzed_garbage_never_crashes_and_counts_add_up(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "logs").mkdir()
        (base / "logs" / "good.csv").write_text(GOOD)
        (base / "logs" / f"fuzz.{suffix}").write_bytes(data)
        rc = Recon(base / "home")
        result = rc.ingest([base / "logs"])
        assert result.rows_read == result.accepted + result.duplicates + result.quarantined
        assert sum(result.reasons.values()) == result.quarantined
        lake = scan_events(rc.layout).collect()
        assert {"g1", "g2"} <= set(lake["event_id"].to_list())
        assert lake["event_id"].n_unique() == lake.height
        assert scan_quarantine(rc.layout).collect().height == result.quarantined


# ------------------------------------------------------------------ the partner's own data (#19)


def test_a_file_missing_a_required_column_is_refused_whole_not_quarantined_row_by_row(tmp_path):
    header = [f for f in FIELDS if f != "action"] + ["comment"]
    rows = [{**raw_row(event_id=f"m{i}"), "comment": "hi"} for i in range(3000)]
    rc, result = ingest_bytes(tmp_path, "missing.csv", csv_text(rows, header=header).encode())
    assert (result.rows_read, result.accepted, result.quarantined) == (0, 0, 0)
    assert len(result.failed_files) == 1
    error = result.failed_files[0].error or ""
    assert error.startswith(
        f"{tmp_path / 'logs' / 'missing.csv'}: missing required column(s) action; "
        "the whole file was refused"
    )
    assert "[ingest.columns]" in error
    assert scan_quarantine(rc.layout).collect().height == 0
    assert scan_events(rc.layout).collect().height == 0


def test_zip_member_names_never_reach_outside_the_home(tmp_path):
    archive = tmp_path / "logs" / "evil.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../escaped.csv", GOOD)
        bundle.writestr("/abs/olute.csv", GOOD.replace("g1", "g7").replace("g2", "g8"))
    rc = Recon(tmp_path / "home")
    result = rc.ingest([archive])
    assert result.accepted == 4
    assert not (tmp_path / "escaped.csv").exists()
    assert sorted(set(scan_events(rc.layout).collect()["source_file"].to_list())) == [
        f"{archive}!../../escaped.csv",
        f"{archive}!/abs/olute.csv",
    ]


def _zipped(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for number, (name, data) in enumerate(members):
            bundle.writestr(f"{number}-{name}", data)
    return buffer.getvalue()


COMPRESSED_GARBAGE = st.one_of(
    st.tuples(st.just("fuzz.csv.gz"), GARBAGE.map(gzip.compress)),
    st.tuples(st.just("fuzz.jsonl.gz"), GARBAGE.map(gzip.compress)),
    st.tuples(st.just("fuzz.csv"), GARBAGE.map(lambda data: gzip.compress(data)[: len(data)])),
    st.tuples(st.sampled_from(["fuzz.csv.gz", "fuzz.zip"]), st.binary(max_size=2000)),
    st.tuples(st.just("fuzz.csv"), GARBAGE.map(lambda data: codecs.BOM_UTF16_LE + data)),
    st.tuples(
        st.just("fuzz.zip"),
        # Distinct contents: two identical files keep their quarantined rows once (by digest).
        st.lists(
            st.tuples(st.sampled_from(["a.csv", "b.jsonl", "c.parquet"]), GARBAGE),
            unique_by=lambda member: member[1],
        ).map(_zipped),
    ),
)


@settings(max_examples=60)
@given(COMPRESSED_GARBAGE)
def test_fuzzed_compressed_and_utf16_garbage_never_crashes(named):
    name, data = named
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "logs").mkdir()
        (base / "logs" / "good.csv").write_text(GOOD)
        (base / "logs" / name).write_bytes(data)
        rc = Recon(base / "home")
        result = rc.ingest([base / "logs"])
        assert result.rows_read == result.accepted + result.duplicates + result.quarantined
        lake = scan_events(rc.layout).collect()
        assert {"g1", "g2"} <= set(lake["event_id"].to_list())
        assert lake["event_id"].n_unique() == lake.height
        assert scan_quarantine(rc.layout).collect().height == result.quarantined
        assert not (base / "home" / ".staging").exists()
