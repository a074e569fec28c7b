"""How much of a large run is shown in full.

The report, the terminal summary and the Excel workbook show the pricing scenario in full; a run
with more scenarios, or a deal with more classes, than these figures is summarised (measures
per scenario, then their distribution) and each output says what it left out and where to find
it (`--cashflows` writes every cash flow of every scenario, streamed by chunks of scenarios).
One place, so that the three outputs summarise at the same sizes.
"""

from __future__ import annotations

# Scenarios listed one row each in a table of measures; beyond this a table shows the
# distribution of each measure over all scenarios (and the scenarios at its extremes).
SCENARIOS_LISTED = 100

# Class-periods (classes x periods) of the pricing scenario's cash flows shown month by month;
# a larger deal's cash flows are shown by year (interest and principal summed over each year's
# periods, the balance at its end).
CASHFLOW_CELLS_MONTHLY = 20_000

# Scenarios per chunk when cash flows are streamed to a file: bounds the memory of an export.
EXPORT_CHUNK = 500
