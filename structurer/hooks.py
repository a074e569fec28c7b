"""Calls from a lower layer up to a higher one, bound from above.

`Deal.run` and the notebook views (`Deal._repr_html_`, `Results._repr_html_`) belong to the
public API, but the model and the results sit below the engine, the analysis and the report
and must not import them (data flows one way). They call through these slots instead; the API
layer, structurer/__init__.py, binds them when it is imported, which Python always does before
any submodule, so the slots are bound wherever the package is used. The functions it binds
import the engine or the report on first use, which keeps `import structurer` light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .analysis.summary import Summary
    from .model.deal import Deal
    from .results.results import Results

# Bound by structurer/__init__.py (always imported before this module is used).
# run_deal(deal, speeds or None, progress) -> Results: Deal.run
run_deal: Callable[..., Results]
# summarise(deal, speeds or None, rates=, chunk=, progress=) -> Summary: Deal.summarise
summarise: Callable[..., Summary]
# The notebook views: Deal._repr_html_ and Results._repr_html_
deal_html: Callable[[Deal], str]
results_html: Callable[[Results], str]
