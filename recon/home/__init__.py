"""One recon home on disk: its layout, lock, atomic files and DuckDB store."""
