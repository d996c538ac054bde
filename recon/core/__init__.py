"""Foundations every stage uses: errors, settings, contracts, quantities, time zones."""
