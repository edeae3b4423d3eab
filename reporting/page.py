"""``GET /``: the public results page, rendered with the current totals and refreshing itself."""

from __future__ import annotations

from html import escape

from reporting.models import Results

REFRESH_S = 15

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Caucus results</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 44rem; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ padding: .3rem .6rem; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
#reporting {{ font-size: 1.4rem; }}
</style>
</head>
<body>
<h1>Caucus results</h1>
<p id="reporting"><span id="percent">{percent}</span>% of precincts reporting
(<span id="precincts-reporting">{reporting}</span> of <span id="precincts-total">{total}</span>)</p>
<table>
<thead><tr><th>Candidate</th><th>First alignment</th><th>Final alignment</th>
<th>County delegates</th></tr></thead>
<tbody id="candidates">{rows}</tbody>
</table>
<p><small>As of <span id="as-of">{as_of}</span>; refreshed every {refresh} s.
<span id="updated"></span></small></p>
<script>
function row(c) {{
  const tr = document.createElement("tr");
  for (const value of [c.name, c.first, c.final, c.delegates]) {{
    const td = document.createElement("td");
    td.textContent = value;
    tr.appendChild(td);
  }}
  return tr;
}}
async function refresh() {{
  try {{
    const response = await fetch("/api/v1/results", {{cache: "no-cache"}});
    if (!response.ok) return;
    const r = await response.json();
    document.getElementById("percent").textContent = r.percent_reporting.toFixed(1);
    document.getElementById("precincts-reporting").textContent = r.precincts_reporting;
    document.getElementById("precincts-total").textContent = r.precincts_total;
    document.getElementById("as-of").textContent = r.as_of;
    document.getElementById("candidates").replaceChildren(...r.candidates.map(row));
    document.getElementById("updated").textContent = "Live.";
  }} catch (error) {{
    document.getElementById("updated").textContent = "Update failed; retrying.";
  }}
}}
refresh();
setInterval(refresh, {refresh} * 1000);
</script>
</body>
</html>
"""


def render_page(results: Results) -> str:
    """The page with ``results`` filled in, so it is useful before any script runs."""
    rows = "".join(
        f"<tr><td>{escape(c.name)}</td><td>{c.first}</td><td>{c.final}</td>"
        f"<td>{c.delegates}</td></tr>"
        for c in results.candidates
    )
    return PAGE.format(
        percent=f"{results.percent_reporting:.1f}",
        reporting=results.precincts_reporting,
        total=results.precincts_total,
        rows=rows,
        as_of=escape(results.as_of),
        refresh=REFRESH_S,
    )
