"""AG Grid tables with Spanish headers and number formats (sortable, filterable, CSV-exportable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag

INT = {"function": "params.value == null ? '—' : d3.format(',.0f')(params.value).replace(/,/g, '.')"}
PCT = {"function": "params.value == null ? '—' : d3.format('.1%')(params.value).replace('.', ',')"}
SECS = {
    "function": (
        "params.value == null ? '—' : (params.value < 90 ? Math.round(params.value) + ' s' : "
        "(params.value < 5400 ? (params.value / 60).toFixed(1).replace('.', ',') + ' min' : "
        "(params.value / 3600).toFixed(1).replace('.', ',') + ' h'))"
    )
}
MS = {"function": "params.value == null ? '—' : (params.value / 1000).toFixed(1).replace('.', ',') + ' s'"}
# Rows carry tenant-local 'YYYY-MM-DD HH:MM:SS' text (lib.analysis.fmt.local_iso): shown as is, never
# through the browser's time zone.
DATETIME = {
    "function": (
        "params.value == null ? '—' : params.value.slice(8, 10) + '/' + params.value.slice(5, 7) + '/' + "
        "params.value.slice(0, 4) + ' ' + params.value.slice(11, 16)"
    )
}
STATUS = {
    "function": (
        "params.value == 'success' ? 'éxito' : params.value == 'failed' ? 'falló' : "
        "params.value == 'running' ? 'en curso' : params.value == 'queued' ? 'en cola' : "
        "params.value == 'skipped' ? 'omitido' : params.value == 'pending' ? 'pendiente' : params.value"
    )
}


def col(field: str, header: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    """A column definition: kind = text | int | pct | secs | ms | datetime."""
    d: dict[str, Any] = {"field": field, "headerName": header}
    if kind in ("int", "pct", "secs", "ms"):
        d["type"] = "numericColumn"
        d["filter"] = "agNumberColumnFilter"
        d["valueFormatter"] = {"int": INT, "pct": PCT, "secs": SECS, "ms": MS}[kind]
    elif kind == "datetime":
        d["valueFormatter"] = DATETIME
        d["filter"] = "agDateColumnFilter"
    else:
        d["filter"] = "agTextColumnFilter"
    d.update(extra)
    return d


def grid(
    grid_id: str,
    columns: Sequence[dict[str, Any]],
    rows: Sequence[dict[str, Any]] | None = None,
    *,
    height: int = 380,
    csv_name: str | None = None,
    row_selection: str | None = None,
    no_rows: str = "Sin datos para este periodo",
    row_id: str | None = None,
) -> dag.AgGrid:
    """A themed grid; `csv_name` enables CSV export (trigger with the `exportDataAsCsv` prop);
    `row_id` names the column that identifies a row (then `cellClicked["rowId"]` is its value)."""
    options: dict[str, Any] = {
        "pagination": True,
        "paginationPageSize": 20,
        "animateRows": False,
        "overlayNoRowsTemplate": f"<span class='grid-empty'>{no_rows}</span>",
        "localeText": {
            "noRowsToShow": no_rows,
            "page": "Página",
            "of": "de",
            "to": "a",
            "pageSizeSelectorLabel": "Filas por página:",
            "filterOoo": "Filtrar…",
            "contains": "Contiene",
            "equals": "Igual a",
            "lessThan": "Menor que",
            "greaterThan": "Mayor que",
            "blank": "Vacío",
            "notBlank": "No vacío",
        },
    }
    if row_selection:
        options["rowSelection"] = {"mode": "singleRow", "enableClickSelection": True, "checkboxes": False}
    kwargs: dict[str, Any] = {}
    if csv_name:
        kwargs["csvExportParams"] = {"fileName": csv_name}
    if row_id:
        kwargs["getRowId"] = f"params.data.{row_id}"
    return dag.AgGrid(
        id=grid_id,
        columnDefs=list(columns),
        rowData=list(rows or []),
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "floatingFilter": False,
            "minWidth": 90,
        },
        columnSize="responsiveSizeToFit",
        dashGridOptions=options,
        className="bi-grid",
        style={"height": f"{height}px", "width": "100%"},
        **kwargs,
    )
