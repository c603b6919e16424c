"""The replay report as a page: Genesys requests per minute against the budget, and the lags over the run.

    .venv/bin/python local/replay.py EVENTS --report r.json --html r.html      # during a replay
    .venv/bin/python local/charts.py r.json r.html                             # from a saved report

One self-contained HTML file (the charts embedded as PNG, no script, no network) and, beside it, the same charts as
a PNG (`r.png`) for a README. matplotlib draws them (the Agg backend: no display needed).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
from pathlib import Path
from typing import Any


def figure_png(report: dict[str, Any]) -> bytes:
    """The two charts of the report's timeline, one above the other, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = report["timeline"]
    minutes = list(range(t["minutes"]))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True, constrained_layout=True)
    top.bar(minutes, t["genesysRequests"], color="#4c78a8", label="Genesys requests (API and token)")
    top.axhline(t["budgetPerMinute"], color="#e45756", linestyle="--",
                label=f"budget: GENESYS_REQUESTS_PER_MINUTE = {t['budgetPerMinute']}")
    top.set_ylabel("requests per minute")
    top.set_title("Genesys requests per minute")
    top.legend(loc="center right")
    for key, label, color in (("storedLagMs", "event to stored", "#54a24b"),
                              ("enrichmentLagMs", "event to enriched", "#f58518")):
        for q, style in (("p50", "-"), ("p99", ":")):
            points = [(m, v / 1000) for m, v in zip(minutes, t[key][q]) if v is not None]
            if points:
                xs, ys = zip(*points)
                bottom.plot(xs, ys, style, color=color, marker="o", markersize=3, label=f"{label} {q}")
    bottom.set_yscale("log")
    bottom.set_ylabel("seconds (log)")
    bottom.set_xlabel("minute of the run (by when the event was sent)")
    bottom.set_title("Lag: event to stored, and to its analytics view")
    bottom.legend(loc="upper left", fontsize="small")
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


def page(report: dict[str, Any], png: bytes) -> str:
    """The self-contained HTML page."""
    c = report["costPerMillionEvents"]
    a = report["accounting"]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>${v:.4f}</td></tr>" for k, v in c["byService"].items())
    fixed = report.get("monthlyFixed", {})
    facts = (f"{report['events']:,} events: {a['stored']:,} stored, {a['superseded']:,} superseded, {a['skipped']:,} "
             f"skipped, {a['dead-lettered']:,} dead-lettered, {a['unaccounted']:,} unaccounted; "
             f"{report['executions']:,} executions")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Replay report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td{{padding:.2em .8em;border-bottom:1px solid #ddd}}</style></head>
<body><h1>Replay report</h1>
<p>{html.escape(facts)}. Prices of {html.escape(str(c.get('pricesTaken')))} ({html.escape(str(c.get('region')))}).</p>
<img alt="Genesys requests per minute against the budget; event-to-stored and enrichment lag, p50 and p99"
 src="data:image/png;base64,{base64.b64encode(png).decode()}" style="max-width:100%">
<h2>Cost per million events: ${c['total']:.2f}</h2><table>{rows}</table>
<h2>Fixed, per month: ${fixed.get('total', 0):.2f}</h2>
<table>{"".join(f"<tr><td>{html.escape(k)}</td><td>${v:.2f}</td></tr>" for k, v in fixed.get('items', {}).items())}</table>
</body></html>
"""


def write(report: dict[str, Any], html_path: Path) -> Path:
    """Writes the page and, beside it, the charts as PNG; returns the PNG's path."""
    png = figure_png(report)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(page(report, png), encoding="utf-8")
    png_path = html_path.with_suffix(".png")
    png_path.write_bytes(png)
    return png_path


def main() -> None:
    """Command line: a saved report to a page."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("html", type=Path)
    args = parser.parse_args()
    png = write(json.loads(args.report.read_text()), args.html)
    print(f"{args.html} and {png} written")


if __name__ == "__main__":
    main()
