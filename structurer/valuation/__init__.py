"""Valuation: price, yield, duration and spreads of a class's cash flows (SIFMA conventions)."""
