"""Download links of a table (CSV for Excel in Spanish, XLSX), served by dash_app.exports."""

from __future__ import annotations

from dash import html

from dash_app.filters import Filters


def export_links(name: str, f: Filters, *, link_id: str | None = None, **extra: object) -> html.Div:
    """'CSV · Excel' links for table `name` with the page's filters (ids `<link_id>` / `<link_id>-xlsx`)."""
    from dash_app.exports import href

    base = link_id or f"export-{name}"
    return html.Div(
        [
            html.A("CSV", href=href(name, f, "csv", **extra), id=base, className="export-link", download=""),
            html.A(
                "Excel",
                href=href(name, f, "xlsx", **extra),
                id=f"{base}-xlsx",
                className="export-link",
                download="",
            ),  # fmt: skip
        ],
        className="export-links no-print",
    )
