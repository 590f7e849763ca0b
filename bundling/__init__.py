"""Build products made before ``terraform apply`` (Lambda zips)."""
