"""The report as ONE self-contained HTML file: inline CSS, charts as inline SVG, no script.

A DPO opens it from a mail attachment or a shared drive, offline, and forwards it: nothing is
fetched from anywhere (no fonts, images, scripts or styles from a URL), and every text from the
records is escaped. Charts are horizontal stacked bars drawn from :attr:`Section.chart`.
"""

from __future__ import annotations

from html import escape
from typing import Any

from audit.report import Report, Section

COLOURS = ("#1b7f5f", "#d08c00", "#5470c6", "#a23b72", "#7f7f7f")
MAX_BARS = 20
WIDTH, LABEL, ROW = 760, 230, 24

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;
margin:2em auto;max-width:980px;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px
solid #ddd;padding-bottom:.2em}.muted{color:#666}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em .8em;min-width:8em}
.card b{display:block;font-size:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:12px system-ui,sans-serif;fill:#222}
@media print{h2{break-after:avoid}svg{break-inside:avoid}}
"""


def _label(row: tuple[Any, ...], section: Section) -> str:
    text = f"{row[0]} / {row[1]}" if section.key == "outcomes" else str(row[0])
    return text if len(text) <= 34 else text[:33] + "…"


def chart(section: Section) -> str:
    """A stacked horizontal bar chart of the section's chart columns (top rows only)."""
    if not section.chart or not section.rows:
        return ""
    index = [section.headers.index(c) for c in section.chart]
    rows = section.rows[:MAX_BARS]
    peak: float = max(sum(int(r[i]) for i in index) for r in rows) or 1
    scale = (WIDTH - LABEL - 60) / peak
    legend_h = 22 if len(index) > 1 else 0
    height = legend_h + ROW * len(rows) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" data-section="{section.key}">',
        f"<title>{escape(section.title)}</title>",
    ]
    if legend_h:
        for n, name in enumerate(section.chart):
            lx = LABEL + n * 120
            parts.append(f'<rect x="{lx}" y="4" width="12" height="12" fill="{COLOURS[n]}"/>'
                         f'<text x="{lx + 16}" y="14">{escape(name)}</text>')
    for k, row in enumerate(rows):
        y = legend_h + k * ROW
        parts.append(f'<text x="{LABEL - 8}" y="{y + 16}" text-anchor="end">'
                     f"{escape(_label(row, section))}</text>")
        x = float(LABEL)
        for n, i in enumerate(index):
            width: float = int(row[i]) * scale
            if width > 0:
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="16" '
                    f'fill="{COLOURS[n]}"><title>{escape(_label(row, section))}: '
                    f"{escape(section.chart[n])} {int(row[i])}</title></rect>"
                )
            x += width
        total = sum(int(row[i]) for i in index)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{total}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def table(section: Section) -> str:
    if not section.rows:
        return '<p class="muted">None in this period.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in section.headers)
    body = "\n".join(
        "<tr>" + "".join(
            f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{escape(str(c))}</td>"
            for c in row
        ) + "</tr>"
        for row in section.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def as_html(report: Report, title: str = "consent-relay audit report") -> str:
    period = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC"
    cards = "".join(
        f'<div class="card"><b>{v}</b>{escape(k.replace("_", " "))}</div>'
        for k, v in report.totals.items()
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">{escape(period)}. Recipients are held only as keyed hashes; '
        "no message body or subject is recorded.</p>",
        f'<div class="cards">{cards}</div>',
    ]
    for section in report.sections:
        body += [f'<h2 id="{section.key}">{escape(section.title)}</h2>', chart(section),
                 table(section)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
