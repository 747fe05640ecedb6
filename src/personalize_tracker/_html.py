"""Small HTML tables for Jupyter's rich display (``_repr_html_``); no dependencies."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["html_table"]

_STYLE = "border-collapse:collapse;text-align:left"
_CELL = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left"


def html_table(
    rows: Sequence[tuple[str, str]],
    *,
    caption: str,
    header: tuple[str, str] | None = None,
    ok: bool | None = None,
) -> str:
    """Return an HTML table of (label, value) rows; every text is escaped.

    Args:
        rows: the rows, label first.
        caption: the table's caption.
        header: column titles, or ``None`` for none.
        ok: colour the caption green (True) or red (False); ``None`` leaves it plain.

    Returns:
        An HTML fragment (a ``<table>`` element).
    """
    colour = "" if ok is None else f";color:{'#1a7f37' if ok else '#cf222e'}"
    parts = [
        f'<table style="{_STYLE}">',
        f'<caption style="text-align:left;font-weight:bold{colour}">{html.escape(caption)}'
        "</caption>",
    ]
    if header is not None:
        parts.append(
            "<thead><tr>"
            + "".join(f'<th style="{_CELL}">{html.escape(title)}</th>' for title in header)
            + "</tr></thead>"
        )
    parts.append("<tbody>")
    for label, value in rows:
        parts.append(
            f'<tr><th style="{_CELL}">{html.escape(label)}</th>'
            f'<td style="{_CELL}">{html.escape(value)}</td></tr>'
        )
    parts.append("</tbody></table>")
    return "".join(parts)
