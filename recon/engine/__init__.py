"""The billing rules as pure Polars transforms: events to intervals (§3), intervals to usage (§4)."""
