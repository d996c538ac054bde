"""Pictures: charts and the static HTML reconciliation summary."""
