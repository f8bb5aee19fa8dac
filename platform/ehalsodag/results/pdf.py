"""The printable report as a PDF, drawn on the server from the very HTML of the printable page (xhtml2pdf, pure
Python on ReportLab: no browser on the server).

Nothing is fetched while rendering: the page's stylesheet and scripts are replaced by nothing (the report template
carries a small stylesheet of its own for the PDF), remote and local reads are refused by xhtml2pdf's resource
policy, and only ``data:`` URIs are read. The charts are inline SVG, which xhtml2pdf draws.
"""

from __future__ import annotations

import io

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

#: No network, no files; a render that takes longer than this is stopped.
POLICY = ResourceAccessPolicy(allow_remote=False, base_dir=None, max_render_seconds=60)


class PdfError(RuntimeError):
    """The HTML could not be turned into a PDF."""


def _nothing_fetched(uri: str, _rel: str) -> str:
    """Inline data stays; any other link (the page's CSS and scripts) becomes an empty resource."""
    return uri if uri.startswith("data:") else "data:text/plain,"


def html_to_pdf(html: str) -> bytes:
    """``html`` (a whole page) as PDF bytes."""
    buffer = io.BytesIO()
    status = pisa.CreatePDF(html, dest=buffer, encoding="utf-8", link_callback=_nothing_fetched,
                            resource_policy=POLICY)
    if status.err:
        raise PdfError(f"xhtml2pdf reported {status.err} error(s)")
    return buffer.getvalue()
