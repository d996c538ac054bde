"""The Webex Wholesale Billing Reports API over HTTP (`recon serve`)."""
