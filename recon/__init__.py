"""recon: recompute Webex Wholesale billing from a partner's own provisioning logs."""

from __future__ import annotations

from recon.errors import ReconError

__version__ = "0.1.0"

__all__ = ["ReconError", "__version__"]
