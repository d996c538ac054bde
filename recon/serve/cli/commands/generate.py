"""`recon generate`: seeded, realistic event logs (and the vendor's reports) for trying recon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import recon
from recon.serve.cli import render
from recon.serve.cli.options import parse_date

FORMATS = ("csv", "jsonl", "parquet", "mixed")


def generate_command(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write daily log files into.")],
    start: Annotated[str, typer.Option(help="First day of events (YYYY-MM-DD).")] = "2026-09-01",
    end: Annotated[str, typer.Option(help="Last day of events (YYYY-MM-DD).")] = "2026-10-31",
    subjects: Annotated[int, typer.Option(help="Users plus workspaces.", min=1)] = 3000,
    customers: Annotated[int, typer.Option(help="Customers.", min=1)] = 120,
    partners: Annotated[int, typer.Option(help="Partners.", min=1)] = 2,
    sub_partners: Annotated[int, typer.Option(help="Sub-partners per partner.", min=0)] = 3,
    mess_rate: Annotated[
        float, typer.Option(help="Share of rows that carry real-log mess.", min=0.0, max=0.5)
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    reassignments: Annotated[
        float,
        typer.Option(
            "--reassignments-per-month",
            help="Mean UNASSIGN+ASSIGN pairs per subject per month (event density).",
            min=0.0,
        ),
    ] = 0.0,
    file_format: Annotated[
        str, typer.Option("--format", help="csv, jsonl, parquet or mixed.")
    ] = "mixed",
    vendor_month: Annotated[
        str | None,
        typer.Option(
            "--vendor-month", help="Also write the vendor's reports for this month (YYYY-MM)."
        ),
    ] = None,
    vendor_dir: Annotated[
        Path | None, typer.Option("--vendor-dir", help="Where (default: 'vendor' beside OUT_DIR).")
    ] = None,
    vendor_differences: Annotated[
        int, typer.Option("--vendor-differences", help="Recorded changes of each kind.", min=0)
    ] = 3,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into folders that are not empty: replace the files an earlier generate "
            "wrote there (other files are kept).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Write realistic, seeded event-log files (with duplicates, orphans, bad rows...).

    A folder that is not empty is refused unless --force.
    """
    first = parse_date(start, "--start")
    last = parse_date(end, "--end")
    if file_format not in FORMATS:
        raise recon.ReconError(
            f"--format {file_format!r} is unknown", hint="use csv, jsonl, parquet or mixed"
        )
    if last < first:
        raise recon.ReconError("--end is before --start", hint="swap them")
    # Imported here: the generator needs numpy, which no other command loads.
    from recon import GeneratorSpec, generate  # noqa: PLC0415

    spec = GeneratorSpec(
        start=first,
        end=last,
        subjects=subjects,
        customers=customers,
        partners=partners,
        sub_partners_per_partner=sub_partners,
        mess_rate=mess_rate,
        seed=seed,
        reassignments_per_month=reassignments,
        format=file_format,  # type: ignore[arg-type]
    )
    month = recon.month_period(vendor_month)[0] if vendor_month else None
    with render.spinner("generating event logs"):
        result = generate(out_dir, spec, month, vendor_dir, vendor_differences, force=force)
    if as_json:
        render.generated_json(result)
    else:
        render.generated(result, out_dir)


def register(app: typer.Typer) -> None:
    """Add `recon generate`."""
    app.command("generate")(generate_command)
