"""Integer codes for the lake's ids: assigned at ingest, stable, shared, migrated, compacted."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from recon.api import Recon
from recon.core.errors import ReconError
from recon.core.resources import schema_dir
from recon.home.layout import HomeLayout, event_files
from recon.ingest.codes import (
    CODED_COLUMNS,
    code_column,
    code_columns,
    dictionary_folder,
    file_has_codes,
    lake_has_codes,
    load_dictionaries,
    load_text_order,
    order_path,
    verify_codes,
)
from recon.ingest.codes_migrate import migrate_lake_codes
from recon.ingest.lake import scan_events
from recon.reports.model import ReportRequest
from tests.conftest import SAMPLE, raw_row


def old_format(layout: HomeLayout) -> None:
    """Make a lake look written by a recon without codes: no code columns, no dictionaries.

    The usage snapshots lose their codes too (an earlier recon wrote them without).
    """
    snapshots = sorted((layout.root / "lake" / "snapshots").glob("*.parquet"))
    for path in [*event_files(layout), *snapshots]:
        frame = pl.read_parquet(path, hive_partitioning=False)
        frame.drop([c for c in code_columns() if c in frame.columns]).write_parquet(path)
    shutil.rmtree(layout.codes)


def decoded(layout: HomeLayout) -> pl.DataFrame:
    """Each lake row's ids as its codes decode them (event_id beside)."""
    lake = scan_events(layout).collect()
    words = load_dictionaries(layout)
    return pl.DataFrame(
        [lake["event_id"]]
        + [words[d].gather(lake[code_column(c)]).alias(c) for c, d in CODED_COLUMNS.items()]
    ).sort("event_id")


def codes_of(layout: HomeLayout, column: str) -> dict[str, int]:
    """A column's text -> code, as stored in the lake."""
    rows = scan_events(layout).select(column, code_column(column)).unique().collect()
    return dict(rows.iter_rows())


def test_the_code_columns_are_declared_in_the_events_contract():
    raw = yaml.safe_load((schema_dir() / "events.yaml").read_text(encoding="utf-8"))
    declared = {
        c["name"]: (c["dtype"], c["dictionary"]) for c in raw["columns"] if "dictionary" in c
    }
    assert declared == {f"{c}_code": ("uint32", d) for c, d in CODED_COLUMNS.items()}
    assert code_column("customer_org_id") == "customer_org_id_code"


def test_every_row_carries_codes_that_decode_to_its_texts(home, write_csv):
    rc = Recon(home)
    rc.ingest(
        [
            write_csv(
                "a.csv",
                [
                    raw_row(event_id="e1", customer_org_id="C1", user_id="u1"),
                    raw_row(event_id="e2", customer_org_id="C2", user_id="", workspace_id="u1"),
                    raw_row(event_id="e3", customer_org_id="C1", user_id="u2", location_id=""),
                ],
            )
        ]
    )
    lake = scan_events(rc.layout).collect()
    assert {lake.schema[code_column(c)] for c in CODED_COLUMNS} == {pl.UInt32()}
    assert lake.select(pl.col(code_columns()).null_count().sum()).row(0) == (0,) * 12
    words = load_dictionaries(rc.layout)
    assert sorted(words) == sorted(set(CODED_COLUMNS.values()))
    assert words["customer"].to_list() == ["C1", "C2"]
    # user_id and workspace_id share one dictionary; the empty string is a text like any other.
    assert sorted(words["subject"].to_list()) == ["", "u1", "u2"]
    assert sorted(words["location"].to_list()) == ["", "L1"]
    assert words["subject"].dtype == pl.String()
    assert decoded(rc.layout).equals(lake.select("event_id", *CODED_COLUMNS).sort("event_id"))
    assert lake_has_codes(rc.layout)
    assert verify_codes(rc.layout) == []
    subjects = codes_of(rc.layout, "user_id")
    assert codes_of(rc.layout, "workspace_id")["u1"] == subjects["u1"]
    assert load_dictionaries(rc.layout, ["package"])["package"].to_list() == ["WEBEX_CALLING"]


def test_a_text_keeps_its_code_across_ingests_and_gets_no_second_one(home, write_csv):
    rc = Recon(home)
    rc.ingest([write_csv("a.csv", [raw_row(event_id="e1", user_id="u1", customer_org_id="C1")])])
    first = codes_of(rc.layout, "user_id") | codes_of(rc.layout, "customer_org_id")
    subjects = load_dictionaries(rc.layout, ["subject"])["subject"].to_list()
    assert sorted(subjects) == ["", "u1"]  # "" from workspace_id
    rc.ingest(
        [
            write_csv(
                "b.csv",
                [
                    raw_row(event_id="e2", user_id="u9", customer_org_id="C9"),
                    raw_row(event_id="e3", user_id="u1", customer_org_id="C1"),
                ],
            )
        ]
    )
    after = codes_of(rc.layout, "user_id") | codes_of(rc.layout, "customer_org_id")
    assert {k: after[k] for k in first} == first
    words = load_dictionaries(rc.layout, ["subject", "customer"])
    assert words["subject"].to_list() == [*subjects, "u9"]  # the old codes kept, one new
    assert words["customer"].to_list() == ["C1", "C9"]
    rc.ingest([write_csv("a.csv", [raw_row(event_id="e1", user_id="u1", customer_org_id="C1")])])
    assert load_dictionaries(rc.layout, ["subject"])["subject"].to_list() == [*subjects, "u9"]
    assert verify_codes(rc.layout) == []


def test_an_empty_home_has_empty_dictionaries_and_an_id_codes_view(home):
    rc = Recon(home)
    rc.ensure_home()
    assert load_dictionaries(rc.layout)["subject"].to_list() == []
    assert verify_codes(rc.layout) == []
    assert rc.sql("SELECT count(*) AS n FROM id_codes")["n"].to_list() == [0]
    assert "customer_org_id_code" in rc.sql("SELECT * FROM events").columns


def test_sql_users_decode_codes_through_the_id_codes_view(rc):
    rows = rc.sql(
        "SELECT DISTINCT e.customer_org_id, c.value FROM events e JOIN id_codes c "
        "ON c.dictionary = 'customer' AND c.code = e.customer_org_id_code ORDER BY 1"
    )
    assert rows.rows() == [("C1", "C1"), ("C2", "C2"), ("C3", "C3")]


def test_a_dictionary_with_a_missing_file_is_refused_not_misread(rc):
    folder = dictionary_folder(rc.layout, "subject")
    (only,) = folder.glob("codes-*.parquet")  # one ingest: one file, codes 0..n-1
    only.rename(only.with_name(only.name.replace("codes-0000000000-", "codes-0000000001-")))
    with pytest.raises(ReconError, match=r"codes 0\.\.0 are missing"):
        load_dictionaries(rc.layout, ["subject"])


@pytest.fixture
def two_ingests(tmp_path: Path) -> Recon:
    rc = Recon(tmp_path / "home")
    files = sorted(SAMPLE.iterdir())
    rc.ingest(files[: len(files) // 2])
    rc.ingest(files[len(files) // 2 :])
    return rc


def test_compaction_carries_the_codes_and_merges_each_dictionary(two_ingests):
    rc = two_ingests
    before = decoded(rc.layout)
    subjects = codes_of(rc.layout, "user_id")
    assert len(list(dictionary_folder(rc.layout, "subject").glob("codes-*"))) == 2
    rc.compact()
    assert verify_codes(rc.layout) == []
    assert codes_of(rc.layout, "user_id") == subjects
    assert decoded(rc.layout).equals(before)
    for name in set(CODED_COLUMNS.values()):
        assert len(list(dictionary_folder(rc.layout, name).glob("codes-*"))) == 1, name


def test_a_merge_cut_short_leaves_stale_files_that_readers_skip_and_writers_remove(
    two_ingests, write_csv
):
    rc = two_ingests
    folder = dictionary_folder(rc.layout, "subject")
    parts = sorted(folder.glob("codes-*.parquet"))
    words = load_dictionaries(rc.layout, ["subject"])["subject"]
    merged = folder / f"codes-0000000000-{words.len():010d}.parquet"
    pl.read_parquet(parts).write_parquet(merged)  # the merge's new file; inputs not removed yet
    assert load_dictionaries(rc.layout, ["subject"])["subject"].equals(words)
    assert verify_codes(rc.layout) == []
    assert rc.sql("SELECT count(*) AS n FROM id_codes WHERE dictionary = 'subject'").item() > 0
    log = write_csv("new.csv", [raw_row(event_id="new-1", user_id="brand-new")])
    rc.ingest([log])  # a writer that codes rows removes the stale inputs
    after = f"codes-{words.len():010d}-{words.len() + 1:010d}.parquet"
    assert sorted(p.name for p in folder.glob("codes-*")) == [merged.name, after]
    assert load_dictionaries(rc.layout, ["subject"])["subject"].to_list()[-1] == "brand-new"
    assert verify_codes(rc.layout) == []


def test_a_lake_without_codes_is_migrated_by_the_first_writer(two_ingests):
    rc = two_ingests
    report = rc.create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    expected = Path(report.csv_path or "").read_text(encoding="utf-8")
    texts = scan_events(rc.layout).drop(code_columns()).collect().sort("event_id")
    old_format(rc.layout)
    assert not lake_has_codes(rc.layout)
    problems = verify_codes(rc.layout)
    assert len(problems) == 1
    assert f"{len(event_files(rc.layout))} lake files lack code columns" in problems[0]
    rc.delete_report(report.id)
    again = Recon(rc.home).create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    assert lake_has_codes(rc.layout)
    assert verify_codes(rc.layout) == []
    assert Path(again.csv_path or "").read_text(encoding="utf-8") == expected
    assert scan_events(rc.layout).drop(code_columns()).collect().sort("event_id").equals(texts)
    assert migrate_lake_codes(rc.layout) == 0  # done once: the marker says so


def test_a_migration_cut_short_goes_on_where_it_stopped(two_ingests):
    rc = two_ingests
    old_format(rc.layout)
    files = event_files(rc.layout)
    assert len(files) > 3
    rc.layout.codes_complete.unlink(missing_ok=True)

    class StopError(Exception):
        pass

    def stop_at_third(step: str, number: int, total: int) -> None:
        if number == 3:
            raise StopError(step)

    with pytest.raises(StopError):
        migrate_lake_codes(rc.layout, stop_at_third)
    assert [f for f in files if file_has_codes(f)] == files[:2]
    assert not rc.layout.codes_complete.exists()
    steps: list[tuple[int, int]] = []
    assert migrate_lake_codes(rc.layout, lambda _, n, t: steps.append((n, t))) == len(files) - 2
    assert steps[-1] == (len(files) - 2, len(files) - 2)
    assert verify_codes(rc.layout) == []
    assert rc.layout.codes_complete.is_file()


def test_a_deleted_dictionary_is_refused_not_started_again(rc, write_csv):
    shutil.rmtree(dictionary_folder(rc.layout, "subject"))
    with pytest.raises(ReconError, match=r"the subject dictionary .* is missing"):
        rc.ingest([write_csv("more.csv", [raw_row(event_id="z1", user_id="u-new")])])
    assert "z1" not in scan_events(rc.layout).collect()["event_id"].to_list()


def test_an_ingest_stores_each_dictionarys_text_order_and_drops_older_ones(two_ingests):
    layout = two_ingests.layout
    for name, texts in load_dictionaries(layout).items():
        orders = sorted(dictionary_folder(layout, name).glob("order-*.parquet"))
        assert orders == [order_path(layout, name, texts.len())], name  # the second's only
        stored = load_text_order(layout, name, texts.len())
        assert stored is not None and stored.equals(texts.arg_sort(), check_names=False)
    assert verify_codes(layout) == []


def test_a_text_order_that_is_stale_or_malformed_is_not_used(two_ingests):
    layout = two_ingests.layout
    size = load_dictionaries(layout, ["subject"])["subject"].len()
    path = order_path(layout, "subject", size)
    right = pl.read_parquet(path)
    assert size > 100
    assert load_text_order(layout, "subject", size - 1) is None  # stale: another size
    too_big = right.with_columns(pl.col("code") + 1)
    as_int = right.with_columns(pl.col("code").cast(pl.Int64))
    codes = right["code"].to_list()
    twice = pl.DataFrame({"code": [codes[0], codes[0], *codes[2:]]}, schema={"code": pl.UInt32})
    for malformed in (too_big, as_int, right.head(10), twice):
        malformed.write_parquet(path)
        assert load_text_order(layout, "subject", size) is None
    path.write_bytes(b"not parquet")
    assert load_text_order(layout, "subject", size) is None
    path.unlink()
    assert load_text_order(layout, "subject", size) is None
    right.write_parquet(path)
    assert load_text_order(layout, "subject", size) is not None


def test_reports_are_the_same_with_stored_text_orders_or_without(two_ingests):
    rc = two_ingests
    request = ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    with_orders = rc.create_report(request)
    expected = Path(with_orders.csv_path or "").read_bytes()
    rc.delete_report(with_orders.id)
    for path in rc.layout.codes.rglob("order-*.parquet"):
        path.write_bytes(b"broken")  # unreadable: each dictionary is sorted again
    again = Recon(rc.home).create_report(request)
    assert Path(again.csv_path or "").read_bytes() == expected
    assert expected.count(b"\n") > 100


def test_a_wrong_text_order_fails_the_user_report_and_verify_names_it(two_ingests):
    rc = two_ingests
    size = load_dictionaries(rc.layout, ["subject"])["subject"].len()
    path = order_path(rc.layout, "subject", size)
    pl.read_parquet(path).reverse().write_parquet(path)  # well formed, in reverse text order
    report = Recon(rc.home).create_report(
        ReportRequest(type="USER", start=date(2026, 10, 1), end=date(2026, 10, 31))
    )
    assert report.status == "FAILED"  # rows out of key order: never a silent success
    assert "break the USER RECONCILIATION contract" in str(report.errors)
    assert "delete <home>/lake/codes/dictionary=*/order-*.parquet" in str(report.errors)
    (problem,) = verify_codes(rc.layout)
    assert "dictionary subject" in problem and "not hold its codes in text order" in problem


def test_a_wrong_text_order_of_a_tie_breaking_attribute_is_sorted_again(two_ingests, write_csv):
    rc = two_ingests
    tied = {  # two add-ons at one instant: each attribute's latest value is a tie
        "occurred_at": "2026-10-05T09:00:00Z",
        "partner_org_id": "P-tie",  # a partner of these two events only
        "customer_org_id": "org-tie",
        "user_id": "u-tie",
    }
    a, z = (
        {
            "partner_name": f"Name {x.upper()}",
            "subscriber_id": f"sub-{x}",
            "customer_external_id": f"ext-{x}",
            "sub_partner_org_id": f"sp-{x}",
        }
        for x in "az"
    )
    ties = [
        raw_row(event_id="t1", package="CALL_RECORDING", **a, **tied),
        raw_row(event_id="t2", package="ATTENDANT_CONSOLE", **z, **tied),
    ]
    rc.ingest([write_csv("ties.csv", ties)])

    def reports(recon: Recon) -> dict[str | None, bytes]:
        csvs = {}
        for scope in (None, "sp-a", "sp-z"):  # the sub-partner is no column of the USER CSV
            report = recon.create_report(
                ReportRequest(
                    type="USER",
                    start=date(2026, 10, 1),
                    end=date(2026, 10, 31),
                    sub_partner_org_id=scope,
                )
            )
            assert report.status == "COMPLETED", report.errors
            csvs[scope] = Path(report.csv_path or "").read_bytes()
            recon.delete_report(report.id)
        return csvs

    expected = reports(rc)
    tie_rows = [line for line in expected[None].decode().splitlines() if "u-tie" in line]
    assert len(tie_rows) == 2  # each attribute's greatest value on the tie
    assert all(r.startswith("Name Z,") and "sub-z" in r and "ext-z" in r for r in tie_rows)
    assert expected["sp-z"].count(b"u-tie") == 2 and b"u-tie" not in expected["sp-a"]
    for name in ("subscriber", "customer_external", "sub_partner", "partner_name"):
        size = load_dictionaries(rc.layout, [name])[name].len()
        path = order_path(rc.layout, name, size)
        pl.read_parquet(path).reverse().write_parquet(path)  # well formed, wrong: no key check
    assert reports(Recon(rc.home)) == expected  # ties broken as on text
    problems = verify_codes(rc.layout)
    assert len(problems) == 4 and all("not hold its codes in text order" in p for p in problems)


def test_a_wrong_text_order_fails_a_spilled_scoped_user_report_too(two_ingests, monkeypatch):
    rc = two_ingests
    monkeypatch.setenv("RECON_SLICE_EVENTS", "700")  # usage in key buckets
    size = load_dictionaries(rc.layout, ["customer"])["customer"].len()
    path = order_path(rc.layout, "customer", size)
    pl.read_parquet(path).reverse().write_parquet(path)
    for scope in (None, "org-subpartner-1-3"):
        report = Recon(rc.home).create_report(
            ReportRequest(
                type="USER",
                start=date(2026, 10, 1),
                end=date(2026, 10, 31),
                sub_partner_org_id=scope,
            )
        )
        assert report.status == "FAILED", scope
        assert "break the USER RECONCILIATION contract" in str(report.errors)
