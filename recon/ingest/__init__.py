"""Ingest: provisioning logs in, validated events into the Parquet lake, bad rows quarantined."""
