"""Exploratory analysis views (notebooks/analysis, served by Voila): queries, parsing, figures.

Modules, one per notebook: `funnel` (conversation funnel and escalation paths), `intents` (intents and
fallbacks), `agents` (agent workload and wait distribution), `push` (push and campaign performance,
send-time heatmap), `nps` (survey answers parsed from flow-event messages). Each has `load(filters)`,
pure builders (tested), and `report(filters)` that displays everything. `nb.View` is the notebook frame
(parameters, ipywidgets controls, an HTML error box instead of a traceback). Data come from the dbt
marts through the analyst login (`tenant_tx(tenant, "analyst")`, row-level security).
"""

from lib.analysis.display import AnalysisError, error_html, guard
from lib.analysis.params import Filters, resolve_filters

__all__ = ["AnalysisError", "Filters", "error_html", "guard", "resolve_filters"]
