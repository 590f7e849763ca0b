"""The local dashboard as one self-contained HTML page: the data is embedded as JSON and a small inline script
draws each chart as SVG in the browser (no network, no library: the file opens anywhere, offline).

A chart is a :class:`Chart`: categories on the x axis and one or more series of numbers (``None`` = no
value). ``bars`` draws one rectangle per value (series side by side), ``lines`` one point per value joined
by a line. Every drawn value is an SVG element of class ``mark`` inside the chart's ``<svg
data-chart="<key>">``, so a browser test can count what really rendered (:func:`expected_marks`).
Standard library only.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Chart", "Series", "expected_marks", "render_page"]

KINDS = ("bars", "lines")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    key: str
    """Stable id (``[a-z0-9_]+``): the ``data-chart`` attribute of its SVG."""
    title: str
    kind: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    y_label: str = ""
    percent: bool = False
    """Values are ratios: the axis and tooltips show them as percentages."""
    note: str = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.key.replace("_", "").isalnum() or self.key.lower() != self.key:
            raise ValueError(f"chart key {self.key!r}: lowercase letters, digits and _ only")
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(f"{self.key}/{s.name}: {len(s.values)} values for {len(self.categories)} categories")


def expected_marks(chart: Chart) -> int:
    """How many marks the page draws for ``chart``: one per value that is not None."""
    return sum(v is not None for s in chart.series for v in s.values)


def _number(value) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, (Decimal, int, float)) else float(Decimal(str(value)))


def _payload(charts: tuple[Chart, ...]) -> list[dict]:
    return [{"key": c.key, "title": c.title, "kind": c.kind, "categories": list(c.categories),
             "y_label": c.y_label, "percent": c.percent, "note": c.note,
             "series": [{"name": s.name, "values": [_number(v) for v in s.values]} for s in c.series]}
            for c in charts]


_SCRIPT = r"""
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f6f8b", "#e07a1f", "#5b8c2a", "#8b1f5f"];
  const W = 860, H = 320, L = 70, R = 20, T = 20, B = 70;
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v, pct) {
    return pct ? (v * 100).toFixed(2) + "%" : v.toLocaleString("pt-BR", {maximumFractionDigits: 2});
  }
  function draw(chart, host) {
    const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, "data-chart": chart.key, role: "img"}, host);
    el("title", {}, svg).textContent = chart.title;
    const all = chart.series.flatMap(s => s.values).filter(v => v !== null);
    const max = Math.max(0, ...all), min = Math.min(0, ...all);
    const span = (max - min) || 1;
    const n = chart.categories.length, pw = W - L - R, ph = H - T - B;
    const y = v => T + ph - ((v - min) / span) * ph;
    const step = n ? pw / n : pw;
    el("line", {x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#999"}, svg);
    for (let i = 0; i <= 4; i++) {
      const v = min + span * i / 4;
      const t = el("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11}, svg);
      t.textContent = fmt(v, chart.percent);
    }
    const every = Math.max(1, Math.ceil(n / 24));
    chart.categories.forEach((c, i) => {
      if (i % every) return;
      const x = L + step * (i + 0.5);
      const t = el("text", {x: x, y: H - B + 14, "font-size": 10, "text-anchor": "end",
                            transform: `rotate(-45 ${x} ${H - B + 14})`}, svg);
      t.textContent = c;
    });
    const k = chart.series.length;
    chart.series.forEach((s, si) => {
      const color = COLORS[si % COLORS.length];
      const pts = [];
      s.values.forEach((v, i) => {
        if (v === null) return;
        let mark;
        if (chart.kind === "bars") {
          const bw = step * 0.8 / k, x = L + step * i + step * 0.1 + bw * si;
          mark = el("rect", {x: x, y: Math.min(y(v), y(0)), width: Math.max(bw, 1),
                             height: Math.max(Math.abs(y(0) - y(v)), 1), fill: color}, svg);
        } else {
          const x = L + step * (i + 0.5);
          pts.push(`${x},${y(v)}`);
          mark = el("circle", {cx: x, cy: y(v), r: 3, fill: color}, svg);
        }
        mark.setAttribute("class", "mark");
        el("title", {}, mark).textContent = `${s.name} ${chart.categories[i]}: ${fmt(v, chart.percent)}`;
      });
      if (chart.kind === "lines" && pts.length > 1) {
        const line = el("polyline", {points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2}, svg);
        svg.insertBefore(line, svg.firstChild.nextSibling);
      }
    });
    const legend = document.createElement("p");
    legend.className = "legend";
    chart.series.forEach((s, si) => {
      const span = document.createElement("span");
      span.style.color = COLORS[si % COLORS.length];
      span.textContent = "\u25A0 " + s.name + "  ";
      legend.appendChild(span);
    });
    host.appendChild(legend);
  }
  const charts = JSON.parse(document.getElementById("data").textContent);
  for (const chart of charts) draw(chart, document.getElementById("chart-" + chart.key));
  document.body.setAttribute("data-rendered", String(charts.length));
})();
"""


def render_page(title: str, charts: tuple[Chart, ...], *, subtitle: str = "") -> str:
    """The whole page (HTML5, UTF-8)."""
    data = json.dumps(_payload(charts), ensure_ascii=False).replace("</", "<\\/")
    sections = "\n".join(
        f'<section><h2>{html.escape(c.title)}</h2>'
        + (f'<p class="note">{html.escape(c.note)}</p>' if c.note else "")
        + f'<div class="chart" id="chart-{c.key}"></div></section>' for c in charts)
    return f"""<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
section {{ margin-bottom: 2.5em; }}
.note, .legend {{ color: #555; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="note">{html.escape(subtitle)}</p>
{sections}
<script type="application/json" id="data">{data}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
