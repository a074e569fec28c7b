"""The engine: prepayment -> collateral cash flows -> schedules -> waterfall -> audit, over every
scenario at once. A pure function of (deal model, scenarios)."""
