"""``axk1 report RUN_DIR``: a self-contained HTML page (plots embedded) plus JSON for a run."""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.io import read_json, write_json_atomic  # noqa: E402
from pipeline.report_data import corpus_stats  # noqa: E402

log = logging.getLogger(__name__)

#: PII stage counters that are not identifier types.
PII_BOOKKEEPING = {"detector_runs", "docs_with_pii", "invalid_utf8_docs"}

PALETTE = ["#2E5EAA", "#E07A1F", "#3C9D5D", "#C4394B", "#7B5EA7", "#8C6D4F", "#999999"]
plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False,
                     "axes.titleweight": "bold", "font.size": 9})


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def plot_funnel(funnel: dict[str, Any]) -> str:
    stages = funnel["stages"]
    names = [s["stage"] for s in stages]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.45 * len(names) + 1.6),
                                   gridspec_kw={"width_ratios": [1, 1.3]})
    y = np.arange(len(names))[::-1]
    ax1.barh(y, [s["docs_in"] for s in stages], color="#D5DEEF", label="in")
    ax1.barh(y, [s["kept"] for s in stages], color=PALETTE[0], label="kept")
    for yi, s in zip(y, stages):
        rate = f"{100 * s['kept'] / s['docs_in']:.1f}%" if s["docs_in"] else "-"
        ax1.text(s["docs_in"], yi, f" {s['kept']:,} / {s['docs_in']:,} ({rate})", va="center", fontsize=8)
    ax1.set_yticks(y, names)
    ax1.set_title("Documents through each stage")
    ax1.set_xlim(0, max(s["docs_in"] for s in stages) * 1.6 or 1)
    ax1.legend(loc="lower right", frameon=False)
    reasons = sorted({r for s in stages for r in list(s["rejected"]) + [f"error:{e}" for e in s["errors"]]
                      if not r.startswith("record:")})  # non-document WARC records are not rejections
    left = np.zeros(len(stages))
    top = sorted(reasons, key=lambda r: -sum(s["rejected"].get(r, 0) + s["errors"].get(r[6:], 0) for s in stages))[:14]
    cmap = plt.get_cmap("tab20")
    for k, r in enumerate(top):
        vals = np.array([s["rejected"].get(r, 0) + (s["errors"].get(r[6:], 0) if r.startswith("error:") else 0)
                         for s in stages])
        ax2.barh(y, vals, left=left, color=cmap(k % 20), label=r)
        left += vals
    ax2.set_yticks(y, names)
    ax2.set_title("Rejections by reason")
    if top:
        ax2.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _png(fig)


def plot_bar(labels: list[str], values: list[float], title: str, color: str = PALETTE[0],
             log: bool = False, horizontal: bool = True) -> str:
    fig, ax = plt.subplots(figsize=(6.2, 0.32 * len(labels) + 1.2) if horizontal else (6.2, 3.2))
    if horizontal:
        y = np.arange(len(labels))[::-1]
        ax.barh(y, values, color=color)
        ax.set_yticks(y, labels)
        if log:
            ax.set_xscale("log")
    else:
        ax.bar(range(len(labels)), values, color=color)
        ax.set_xticks(range(len(labels)), labels, rotation=0)
        if log:
            ax.set_yscale("log")
    ax.set_title(title)
    return _png(fig)


def plot_histograms(hists: dict[str, Any]) -> str:
    cols = list(hists)
    n = len(cols)
    ncols = 3
    nrows = max(1, (n + ncols - 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.5 * nrows), squeeze=False)
    for ax, col in zip(axes.flat, cols):
        edges = np.asarray(hists[col]["edges"])
        centers = (edges[:-1] + edges[1:]) / 2
        for k, (group, counts) in enumerate(hists[col]["counts"].items()):
            c = np.asarray(counts, dtype=float)
            if c.sum() == 0:
                continue
            ax.step(centers, c / c.sum(), where="mid", color=PALETTE[k % len(PALETTE)], label=group, lw=1.4)
        ax.set_title(col, fontsize=9)
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False,
                   bbox_to_anchor=(0.5, 1.0), title="language")
    return _png(fig)


def plot_mixture(plan: dict[str, Any]) -> str:
    srcs = plan["sources"]
    names = [s["name"] for s in srcs]
    x = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
    ax1.bar(x - 0.2, [s["share"] for s in srcs], 0.4, label="target share", color="#BBBBBB")
    ax1.bar(x + 0.2, [s.get("achieved_share", 0) for s in srcs], 0.4, label="achieved share", color=PALETTE[0])
    ax1.set_xticks(x, names)
    ax1.set_title("Mixture: share of tokens")
    ax1.legend(frameon=False)
    ax2.bar(x - 0.2, [s["target_tokens"] for s in srcs], 0.4, label="target tokens", color="#BBBBBB")
    ax2.bar(x + 0.2, [s.get("achieved_tokens", 0) for s in srcs], 0.4, label="achieved tokens", color=PALETTE[1])
    ax2.bar(x + 0.2, [s["available_tokens"] for s in srcs], 0.12, label="unique tokens available", color="#333333")
    ax2.set_xticks(x, names)
    ax2.set_yscale("log")
    ax2.set_title("Mixture: tokens")
    ax2.legend(frameon=False, fontsize=7)
    return _png(fig)


def plot_training(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    steps = [r.get("step", i) for i, r in enumerate(rows)]
    keys = [k for k in ("loss", "tokens_per_s", "mfu", "maxvio_mean", "lr")
            if any(r.get(k) is not None for r in rows)]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(11, 2.8), squeeze=False)
    for ax, k in zip(axes.flat, keys):
        ax.plot(steps, [r.get(k, np.nan) for r in rows], color=PALETTE[0], lw=1.4)
        ax.set_title(k)
        ax.set_xlabel("step")
    return _png(fig)


def plot_expert_load(load: list[list[float]]) -> str:
    arr = np.asarray(load, dtype=float)
    fig, ax = plt.subplots(figsize=(11, 0.25 * arr.shape[0] + 1.5))
    im = ax.imshow(arr, aspect="auto", cmap="viridis")
    ax.set_xlabel("expert")
    ax.set_ylabel("MoE layer")
    ax.set_yticks(range(arr.shape[0]), [str(i + 1) for i in range(arr.shape[0])])
    if arr.shape[1] <= 32:
        ax.set_xticks(range(arr.shape[1]))
    ax.set_title("Share of routed tokens per expert (last logged step)")
    fig.colorbar(im, ax=ax, fraction=0.02)
    return _png(fig)


def _find_segments(run_dir: Path, manifest: dict[str, Any]) -> tuple[Path | None, Path | None]:
    """(curated output, mixed corpus) directories of a run, from its manifest when it has one."""
    if manifest.get("segments"):
        segs = [run_dir / s for s in manifest["segments"]]
        out = run_dir / manifest["output_dir"]
        if (out / "_mix_plan.json").exists():
            return (segs[-2] if len(segs) > 1 else None), out
        return out, None
    segs = sorted(p for p in (run_dir / "stages").glob("*") if p.is_dir())
    if not segs:
        return None, None
    if (segs[-1] / "_mix_plan.json").exists():
        return (segs[-2] if len(segs) > 1 else None), segs[-1]
    return segs[-1], None


def build_report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Compute the report JSON and render the HTML page; returns the HTML path."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir / "report"
    funnel = read_json(run_dir / "funnel.json")
    manifest = read_json(run_dir / "manifest.json") if (run_dir / "manifest.json").exists() else {}
    curated, mixed = _find_segments(run_dir, manifest)
    data: dict[str, Any] = {"run": manifest.get("job", run_dir.name), "funnel": funnel}
    data["curated"] = corpus_stats(curated) if curated else {}
    plan = read_json(mixed / "_mix_plan.json") if mixed and (mixed / "_mix_plan.json").exists() else None
    data["mixture"] = plan
    pii = {}
    for s in funnel["stages"]:
        for k, v in s.get("extra", {}).items():
            if k.startswith("pii.") and k[4:] not in PII_BOOKKEEPING:
                pii[k[4:]] = pii.get(k[4:], 0) + v
    data["pii_counts"] = pii
    for name, rel in (("tokenizer", "tokenizer/eval.json"), ("pack", "shards/manifest.json")):
        if (run_dir / rel).exists():
            data[name] = read_json(run_dir / rel)
    training = []
    metrics_file = run_dir / "train" / "metrics.jsonl"
    if metrics_file.exists():
        training = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
    data["training_steps"] = len(training)
    write_json_atomic(data, out_dir / "report.json")
    page = render_html(data, training)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.html").write_text(page, encoding="utf-8")
    return out_dir / "index.html"


def _card(label: str, value: str) -> str:
    return f'<div class="card"><div class="v">{html.escape(value)}</div><div class="l">{html.escape(label)}</div></div>'


def _section(title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f"<section><h2>{html.escape(title)}</h2>{note_html}{body}</section>"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def render_html(data: dict[str, Any], training: list[dict[str, Any]]) -> str:
    f = data["funnel"]
    cur = data.get("curated") or {}
    plan = data.get("mixture")
    cards = [_card("records read", f"{f.get('records_in', f['docs_in']):,}"),
             _card("documents in", f"{f['docs_in']:,}"), _card("documents out", f"{f['docs_out']:,}"),
             _card("kept", f"{100 * (f['overall_keep_rate'] or 0):.1f}%")]
    if cur.get("languages"):
        ko = cur["languages"].get("ko", 0)
        cards.append(_card("Korean share (curated)", f"{100 * ko / max(1, cur['documents']):.1f}%"))
    if plan:
        cards.append(_card("corpus tokens", f"{plan.get('achieved_tokens', 0):,.0f}"))
    pii_docs = sum(s["extra"].get("pii.docs_with_pii", 0) for s in f["stages"])
    if pii_docs:
        cards.append(_card("documents with PII scrubbed", f"{pii_docs:,}"))
    parts = [f'<div class="cards">{"".join(cards)}</div>']
    parts.append(_section("Funnel", _img(plot_funnel(f), "funnel"),
                          "Every document is accounted for: in = kept + rejected + errors at each stage. The reader's "
                          "input is archive records; non-document records (requests, metadata) are counted "
                          "in the table but not drawn as rejections."))
    rows = [[s["stage"], s["docs_in"], s["kept"], sum(s["rejected"].values()), sum(s["errors"].values()),
             s["bytes_in"] / 1e6, s["seconds"]] for s in f["stages"]]
    parts.append(_section("Stage table", _table(["stage", "in", "kept", "rejected", "errors", "MB text in",
                                                  "seconds"], rows)))
    if cur.get("languages"):
        langs = list(cur["languages"].items())[:15]
        parts.append(_section("Languages (curated documents)", _img(plot_bar(
            [k or "und" for k, _ in langs], [v for _, v in langs], "documents per language"), "languages")))
    if cur.get("histograms"):
        parts.append(_section("Length and quality signals per language", _img(plot_histograms(
            cur["histograms"]), "histograms"), "Normalised per language; x axis in the signal's own units."))
    if cur.get("dup_cluster_sizes"):
        sizes = cur["dup_cluster_sizes"]
        parts.append(_section("Near-duplicate cluster sizes (kept representatives)", _img(plot_bar(
            [str(k) for k in sizes], list(sizes.values()), "documents by cluster size", PALETTE[2], log=True,
            horizontal=False), "clusters")))
    if data.get("pii_counts"):
        pii = sorted(data["pii_counts"].items(), key=lambda kv: -kv[1])
        parts.append(_section("PII replaced, by type", _img(plot_bar(
            [k for k, _ in pii], [v for _, v in pii], "matches", PALETTE[3]), "pii")))
    if cur.get("top_domains"):
        dom = cur["top_domains"][:20]
        parts.append(_section("Top domains (curated documents)", _img(plot_bar(
            [d for d, _ in dom], [n for _, n in dom], "documents", PALETTE[4]), "domains")))
    if plan:
        rows = [[s["name"], s["share"], s.get("achieved_share", 0), s["available_tokens"], s["target_tokens"],
                 s.get("achieved_tokens", 0), s["epoch_factor"], "yes" if s["satisfied"] else "SHORTFALL"]
                for s in plan["sources"]]
        parts.append(_section("Mixture achieved vs target", _img(plot_mixture(plan), "mixture") + _table(
            ["source", "target share", "achieved share", "unique tokens", "target tokens", "achieved tokens",
             "epoch factor", "satisfied"], rows), f"Token counts are {plan['token_counts']}."))
    if data.get("tokenizer"):
        parts.append(_section("Tokenizer evaluation", tokenizer_section(data["tokenizer"]),
                              "Held-out documents of the final corpus, never seen in training."))
    if training:
        img = plot_training(training)
        body = _img(img, "training") if img else ""
        load = next((r["load_per_layer"] for r in reversed(training) if r.get("load_per_layer")), None)
        if load:
            arr = np.asarray(load, dtype=float)
            body += _img(plot_expert_load((arr / arr.sum(axis=1, keepdims=True)).tolist()), "expert load")
        last = training[-1]
        body += _table(["first loss", "last loss", "steps", "last tokens/s", "dead experts"],
                       [[training[0].get("loss"), last.get("loss"), last.get("step"), last.get("tokens_per_s"),
                         last.get("dead_experts")]])
        parts.append(_section("Pretraining", body))
    return PAGE.format(title=html.escape(f"Corpus report: {data['run']}"), body="\n".join(parts))


def tokenizer_section(tok: dict[str, Any]) -> str:
    rows = [[lang, m.get("docs"), m.get("bytes_per_token"), m.get("chars_per_token"), m.get("tokens_per_word")]
            for lang, m in sorted(tok.get("languages", {}).items())]
    html_out = _table(["language", "documents", "bytes / token", "chars / token", "tokens / word"], rows)
    rt = tok.get("round_trip", {})
    facts = [["vocabulary size", tok.get("vocab_size")],
             ["Korean fertility (tokens per eojeol)", tok.get("korean_fertility_tokens_per_eojeol")]]
    for name, res in rt.items():
        if isinstance(res, dict) and "failures" in res:
            total = res.get("strings", res.get("texts", "?"))
            facts.append([f"round-trip failures ({name})", f"{res['failures']} of {total}"])
    unused = tok.get("unused")
    if isinstance(unused, dict):
        facts += [[f"unused: {k}", v] for k, v in unused.items() if not isinstance(v, (dict, list))]
    return html_out + _table(["metric", "value"], facts)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body{{font-family:-apple-system,'Segoe UI',Roboto,'Noto Sans KR',sans-serif;margin:0;background:#f5f6f8;color:#1d2330}}
header{{background:#1d2b4a;color:#fff;padding:18px 32px}} header h1{{margin:0;font-size:22px}}
main{{max-width:1180px;margin:0 auto;padding:16px 24px 48px}}
section{{background:#fff;border-radius:10px;padding:14px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}}
h2{{font-size:16px;margin:4px 0 10px}} .note{{color:#5a6275;font-size:12px;margin:0 0 8px}}
img{{max-width:100%}} .cards{{display:flex;gap:12px;flex-wrap:wrap;margin-top:8px}}
.card{{background:#fff;border-radius:10px;padding:12px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:150px}}
.card .v{{font-size:24px;font-weight:700;color:#2E5EAA}} .card .l{{font-size:12px;color:#5a6275}}
table{{border-collapse:collapse;font-size:12px;width:100%;margin-top:8px}}
th,td{{padding:5px 8px;border-bottom:1px solid #e6e8ee;text-align:right}} th:first-child,td:first-child{{text-align:left}}
pre{{font-size:11px;background:#f5f6f8;padding:10px;overflow:auto;max-height:360px}}
</style></head>
<body><header><h1>{title}</h1></header><main>
{body}
</main></body></html>
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="axk1 report", description="write the statistics report of a run")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, help="output directory (default RUN_DIR/report)")
    args = ap.parse_args(argv)
    if not (args.run_dir / "funnel.json").exists():
        log.error("%s has no funnel.json: is it a run directory of 'axk1 run'?", args.run_dir)
        return 2
    page = build_report(args.run_dir, args.out)
    print(page)
    return 0
