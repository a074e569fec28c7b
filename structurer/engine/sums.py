"""The layout of a summaries-only run's sums (engine/kernel.py writes them, analysis/summary.py
reads them).
"""

# The fields of a summaries-only run's sums [scenario, class (then the collateral), field]:
# principal counted for the WAL (positive; a notional class's paydown) and weighted by the
# period, the first and last period paying principal above the dust (0: none), interest,
# principal and accretion paid, the balance after the last period, the collateral's scheduled
# principal, prepayments and servicing fee; from F_PV, the present value of interest + principal
# at each discount rate.
(F_WAL_PAID, F_WAL_WEIGHTED, F_FIRST, F_LAST, F_INTEREST, F_PRINCIPAL, F_ACCRUED, F_FINAL,
 F_SCHEDULED, F_PREPAID, F_FEE, F_PV) = range(12)
SUM_FIELDS = F_PV
