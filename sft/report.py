"""The SFT build report: ``report.json`` and a self-contained ``index.html``.

Sections: the funnel (records in, kept, rejected by reason, errors per step), the Think-Fusion mix
(think / non-think counts and shares, per group with targets and shortfalls, per language and per
source), packing (rows, fill, loss tokens) and token-length histograms per mode (inline SVG).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from core.io import write_json_atomic


def histogram(lengths: list[int], bins: int = 20) -> dict[str, list]:
    """Equal-width histogram of token lengths (edges and counts)."""
    if not lengths:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(np.asarray(lengths), bins=bins)
    return {"edges": [int(round(e)) for e in edges], "counts": counts.astype(int).tolist()}


def _svg(hist: dict[str, list], title: str, width: int = 420, height: int = 140) -> str:
    counts = hist["counts"]
    if not counts:
        return f"<p>{html.escape(title)}: none</p>"
    top = max(counts) or 1
    bw = width / len(counts)
    bars = "".join(
        f'<rect x="{i * bw:.1f}" y="{height - 20 - (c / top) * (height - 30):.1f}" width="{bw - 1:.1f}" '
        f'height="{(c / top) * (height - 30):.1f}" fill="#4a78b5"><title>{hist["edges"][i]}-{hist["edges"][i + 1]}: '
        f'{c}</title></rect>' for i, c in enumerate(counts))
    axis = (f'<text x="0" y="{height - 4}" font-size="10">{hist["edges"][0]}</text>'
            f'<text x="{width - 40}" y="{height - 4}" font-size="10">{hist["edges"][-1]}</text>')
    return (f'<figure><figcaption>{html.escape(title)} (tokens per conversation)</figcaption>'
            f'<svg width="{width}" height="{height}">{bars}{axis}</svg></figure>')


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(summary: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.json`` and ``index.html`` under ``out_dir``; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lengths = summary["lengths"]
    hists = {mode: histogram(v) for mode, v in lengths.items()}
    data = {k: summary[k] for k in ("name", "funnel", "mix", "manifest")}
    data["length_histograms"] = hists
    data["length_stats"] = {mode: {"n": len(v), "mean": round(float(np.mean(v)), 1) if v else None,
                                   "max": max(v) if v else None} for mode, v in lengths.items()}
    write_json_atomic(data, out_dir / "report.json")
    fun, mixed, man = summary["funnel"], summary["mix"], summary["manifest"]
    funnel_rows = [[s["stage"], s["docs_in"], s["kept"],
                    ", ".join(f"{k}: {v}" for k, v in sorted(s["rejected"].items())) or "-",
                    ", ".join(f"{k}: {v}" for k, v in sorted(s["errors"].items())) or "-",
                    "yes" if s["balanced"] else "NO"] for s in fun["stages"]]
    group_rows = [[name, g["available"], g["target"], g["epochs"], g["examples"], g["shortfall"]]
                  for name, g in mixed["groups"].items()]
    parts = [
        f"<h1>SFT build: {html.escape(str(summary['name']))}</h1>",
        f"<p>{fun['records_in']} records in, {mixed['examples']} training examples, {man['rows']} packed rows "
        f"of {man['row_tokens']} tokens (fill {man['fill']}), {man['loss_tokens']} of {man['tokens']} tokens "
        "carry loss.</p>",
        "<h2>Funnel</h2>", _table(["step", "in", "kept", "rejected", "errors", "balanced"], funnel_rows),
        "<h2>Think-Fusion mix</h2>",
        _table(["mode", "examples", "share"], [
            ["think", mixed["think"], mixed["think_share"]],
            ["non-think", mixed["non_think"],
             round(1 - mixed["think_share"], 4) if mixed["think_share"] is not None else None],
            ["target think share", "", mixed["think_share_target"]],
            ["think shortfall", mixed["think_shortfall"], ""]]),
        "<h3>Groups</h3>", _table(["group", "available", "target", "epochs", "examples", "shortfall"], group_rows),
        "<h3>Per language</h3>", _table(["language", "examples"], list(mixed["by_language"].items())),
        "<h3>Per mode and language</h3>", _table(["mode:language", "examples"],
                                                 list(mixed["by_mode_language"].items())),
        "<h3>Per source</h3>", _table(["source", "examples"], list(mixed["by_source"].items())),
        "<h2>Lengths</h2>", *(_svg(h, mode) for mode, h in hists.items()),
    ]
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;"
             "margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}")
    page = f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
