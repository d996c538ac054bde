"""Migration: lake files written before codes existed get their code columns, once.

The first writer to open such a home (ingest, report create, run, compact: whatever takes the
writer lock) rewrites each old event file with the same rows in the same order plus the code
columns: the texts' codes are written to the dictionaries first, then the file is written
beside the old one and renamed over it (atomic). A kill at any point leaves every file whole,
old or new; the next writer goes on with the files still lacking codes. When every file has
them, a marker records it, so later writers do not read every file's footer again.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from recon.home.files import write_parquet_atomically, write_text_atomically
from recon.home.layout import HomeLayout, event_files
from recon.ingest.codes import CodeBook, code_columns, file_has_codes, store_text_orders
from recon.ingest.lake import event_schema, scan_event_files

Progress = Callable[[str, int, int], None]  # as ingest's progress


def migrate_lake_codes(layout: HomeLayout, progress: Progress | None = None) -> int:
    """Give every lake file lacking them its code columns; the caller holds the writer lock.

    Returns how many files were rewritten (0 for a home already coded, or a new one).
    """
    if layout.codes_complete.is_file():
        return 0
    old = [f for f in event_files(layout) if not file_has_codes(f)]
    book = CodeBook(layout)
    schema = event_schema()
    coded = set(code_columns())
    for number, path in enumerate(old, start=1):
        if progress:
            progress(f"adding id codes to {path.parent.name}/{path.name}", number, len(old))
        texts = (
            scan_event_files([path])
            .select([pl.col(c).cast(t) for c, t in schema.items() if c not in coded])
            .collect()
        )
        rows = book.encode(texts).select([pl.col(c).cast(t) for c, t in schema.items()])
        if rows.height != texts.height:
            raise RuntimeError(f"coding {path} changed its rows ({texts.height} -> {rows.height})")
        write_parquet_atomically(rows, path)
    store_text_orders(layout, book.grown)
    layout.codes.mkdir(parents=True, exist_ok=True)
    write_text_atomically(layout.codes_complete, "every lake file carries its id codes\n")
    return len(old)
