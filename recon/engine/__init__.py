"""The billing rules as pure Polars transforms: events → intervals (§3) → usage (§4)."""
