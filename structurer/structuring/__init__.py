"""Structuring tools over whole runs: solvers (size, PAC capacity, par coupon, effective band)
and the REMIC tie-out."""
