"""HTML of archived notebooks, rendered on demand (the archive keeps only `NN_step.ipynb.gz`).

`load_notebook(location)` reads an archived notebook from a path or an fsspec URL (`file://`, `gs://`,
`s3://`, `memory://`: what retention moved to object storage), gzipped or not; `render_html(nb)` is
nbconvert without code (outputs and markdown only). Runs archived before this kept their `.html`:
`read_html(location)` returns those as they are, so old links keep working.
"""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import nbformat

_exporter = None
_lock = threading.Lock()


def is_url(location: str) -> bool:
    """True for an fsspec URL (`scheme://…`, `file://` included), False for a local path."""
    return "://" in location


def read_bytes(location: str) -> bytes:
    """The bytes of an archived file (local path or fsspec URL)."""
    if is_url(location):
        import fsspec

        with fsspec.open(location, "rb") as fh:
            return fh.read()
    return Path(location).read_bytes()


def load_notebook(location: str) -> nbformat.NotebookNode:
    """An archived executed notebook (`.ipynb.gz` or `.ipynb`)."""
    data = read_bytes(location)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return nbformat.reads(data.decode("utf-8"), as_version=4)


def render_html(nb: nbformat.NotebookNode) -> str:
    """HTML of an executed notebook without its code (outputs and markdown only)."""
    global _exporter
    with _lock:
        if _exporter is None:
            from nbconvert import HTMLExporter

            _exporter = HTMLExporter(
                exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
            )
        body, _ = _exporter.from_notebook_node(nb)
    return body


def notebook_html(location: str) -> str:
    """The HTML of an archived step: a legacy `.html` as is, else rendered from the notebook."""
    if location.endswith((".html", ".htm")):
        return read_bytes(location).decode("utf-8")
    return render_html(load_notebook(location))
