"""Reconciliation: our reports against the vendor's files, the monthly batch, explain."""
