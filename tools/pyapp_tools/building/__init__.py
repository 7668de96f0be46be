"""``pyapp-build``: building a reproducible ``.pyapp`` from a project (spec section 2)."""
