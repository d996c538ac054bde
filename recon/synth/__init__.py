"""Synthetic data: sample provisioning logs and vendor reports with known discrepancies."""
