"""Shared look of the figures: colours, rc settings, deterministic saving, notes and label placement."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # for pyplot, when a caller uses it (these figures do not)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import PlaceHolderLayoutEngine  # noqa: E402
from matplotlib.offsetbox import AnchoredText  # noqa: E402

from ...errors import InputError, preview  # noqa: E402
from ...util import atomic_file  # noqa: E402


DPI = 150
MAX_LABELS = 15
SEED = 20240601

# Colour-blind safe (Okabe-Ito) colours.
UP = "#D55E00"
DOWN = "#0072B2"
NOT_SIG = "#BDBDBD"
TARGET = "#8E24AA"
TARGET_LABEL = "#C62828"
MISSING = "#E6E6E6"
CATEGORICAL = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#8C564B",
    "#7F7F7F",
]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]

_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": "pathverdict",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.titlesize": 11,
    "figure.titleweight": "bold",
    "hatch.linewidth": 0.6,
}

# No dates and a fixed producer string, so the bytes only depend on the data.
_METADATA = {
    "png": {"Software": "pathverdict (matplotlib)"},
    "svg": {"Date": None, "Creator": "pathverdict (matplotlib)"},
    "pdf": {"Creator": "pathverdict (matplotlib)", "Producer": None, "CreationDate": None, "ModDate": None},
}


# ----------------------------------------------------------------------------- helpers


def _save(fig, out: str | Path) -> None:
    """Write ``fig`` to ``out`` atomically (temp file in the same directory + rename).

    A PNG is laid out once (:func:`_lay_out`) and drawn once, then written as RGB (the figures
    are opaque: their alpha channel is 255 everywhere) by :func:`_write_png`; ``savefig``
    would lay the figure out and walk all its artists in an extra pass before drawing it."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".") or "png"
    if fmt not in _METADATA:
        raise ValueError(f"{out}: unsupported figure format '.{fmt}' (use .png, .svg or .pdf)")
    with atomic_file(out) as fh:
        if fmt == "png":
            _write_png(fig, fh)
        else:
            fig.savefig(fh, format=fmt, dpi=DPI, metadata=_METADATA[fmt])


# zlib level of the PNGs: level 6 (Pillow's default) makes them ~5% smaller for ~30% more CPU
PNG_COMPRESS_LEVEL = 3


def _write_png(fig, fh) -> None:
    """Draw ``fig`` (at :data:`DPI`) and write it to ``fh`` as an RGB PNG with :data:`_METADATA`
    (the PNG ``savefig`` writes, without its alpha channel)."""
    from PIL import Image, PngImagePlugin

    _lay_out(fig)
    canvas = fig.canvas
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    info = PngImagePlugin.PngInfo()
    for key, value in _METADATA["png"].items():
        info.add_text(key, value)
    img.save(fh, format="png", pnginfo=info, dpi=(DPI, DPI), compress_level=PNG_COMPRESS_LEVEL)


def _lay_out(fig) -> None:
    """Run the figure's layout engine (constrained layout) once, then switch it off: positions are
    final (label placement measures them) and drawing the figure does not lay it out again."""
    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        engine.execute(fig)
        fig.set_layout_engine("none")


def _new_figure(**kwargs) -> Figure:
    """A constrained-layout figure on an Agg canvas (no pyplot: nothing global to close)."""
    fig = Figure(layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


@contextlib.contextmanager
def _figure(out, **kwargs):
    """A constrained-layout figure under the module's rc settings; saved (and dropped)."""
    with matplotlib.rc_context(_RC):
        fig = _new_figure(**kwargs)
        yield fig
        _save(fig, out)


def fit_title(title: str, width_in: float, fontsize: float = 10.0) -> str:
    """``title`` wrapped (at spaces, each line separately) to the width of a ``width_in``
    inch figure, so that a long title is not clipped at the figure's edges (bold DejaVu
    Sans averages ~0.62 em per character; a margin of 0.3 inch is kept)."""
    chars = max(20, int((width_in - 0.3) * 72 / (fontsize * 0.62)))
    return "\n".join(textwrap.fill(line, chars, break_long_words=False) for line in title.split("\n"))


def _note(ax, text: str, loc: str = "upper center", size: float = 8.5) -> AnchoredText:
    """A boxed note inside the axes (for missing / degenerate data)."""
    at = AnchoredText(text, loc=loc, prop={"size": size, "color": "#5D4037"}, frameon=True, pad=0.4, borderpad=0.6)
    at.patch.set_boxstyle("round,pad=0.3")
    at.patch.set_facecolor("#FFF8E1")
    at.patch.set_edgecolor("#BCAAA4")
    at.patch.set_alpha(0.92)
    at.set_zorder(10)
    ax.add_artist(at)
    return at


def _empty_axes(ax, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=10,
        color="#5D4037",
        wrap=True,
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#FFF8E1", "edgecolor": "#BCAAA4"},
    )


def _de_frame(de: pd.DataFrame, need: list[str], what: str) -> pd.DataFrame:
    """Copy of a DE table with numeric columns coerced, gene_id and symbol as strings."""
    missing = [c for c in need if c not in de.columns]
    if missing:
        raise InputError(
            f"{what}: the DE table lacks column(s) {preview(missing)}; it has "
            f"{preview(list(de.columns), 12)}. Pass the results table written "
            "by the differential expression step."
        )
    d = de.copy()
    if "gene_id" not in d.columns:  # gene ids as the index
        d["gene_id"] = d.index.astype(str)
    d["gene_id"] = d["gene_id"].astype(str)
    if "symbol" not in d.columns:
        d["symbol"] = pd.NA
    d["symbol"] = d["symbol"].astype("string")
    for c in ("baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"):
        if c in d.columns:
            d[c] = pd.to_numeric(d[c], errors="coerce").astype(float)
    return d


def _as_set(items: Iterable[str] | None) -> set[str]:
    if items is None:
        return set()
    if isinstance(items, str):
        items = [items]
    return {str(i).strip() for i in items if i is not None and not pd.isna(i) and str(i).strip()}


def _fmt_int(n: int) -> str:
    return f"{int(n):,}"


_DIRECTIONS = [(1, 1), (1, 0), (0, 1), (1, -1), (-1, 1), (0, -1), (-1, 0), (-1, -1)]


def _place_labels(fig, ax, items, obstacles=None, radius: float = 4.0, avoid=(), rng=None, **text_kw) -> list:
    """Greedy, deterministic label placement (no overlapping labels where avoidable).

    ``items`` are ``(x, y, text, prefer_right)`` in data coordinates, most important
    first. Each label is put at the first candidate position (rings of increasing
    distance around its point, 8 directions, the preferred side first) that overlaps
    no label placed before, no marker in ``obstacles`` (data coordinates, markers of
    about ``radius`` points), none of the artists in ``avoid`` and stays inside the
    axes; if none is free, the least-overlapping candidate. Labels away from their
    point get a leader line. ``rng`` (seeded) adds sub-pixel jitter to break ties
    between coincident points.
    """
    if not items:
        return []
    _lay_out(fig)  # positions are final
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0
    axb = ax.get_window_extent(renderer)
    obs = np.empty((0, 2))
    if obstacles is not None and len(obstacles):
        obs = ax.transData.transform(np.asarray(obstacles, dtype=float).reshape(-1, 2))
        obs = obs[np.isfinite(obs).all(axis=1)]
    r = radius * px
    boxes = [a.get_window_extent(renderer) for a in avoid]
    placed = [(b.x0, b.y0, b.x1, b.y1) for b in boxes]
    rings = sorted({radius + 1.5, radius + 5, radius + 10, 20, 28, 38, 50, 64, 80, 100})
    out = []
    for x, y, label, right in items:
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        t = ax.annotate(
            label, xy=(x, y), xytext=(0, 0), textcoords="offset points", ha="center", va="center", **text_kw
        )
        bb = t.get_window_extent(renderer)
        w, h = bb.width + 2, bb.height + 1
        t.remove()
        p0, p1 = ax.transData.transform((x, y))
        if rng is not None:
            p0, p1 = p0 + rng.uniform(-0.3, 0.3), p1 + rng.uniform(-0.3, 0.3)
        dirs = _DIRECTIONS if right else [(-ux, uy) for ux, uy in _DIRECTIONS]
        best, best_cost = None, np.inf
        for d in rings:
            for ux, uy in dirs:
                cx = p0 + ux * (w / 2 + d * px)
                cy = p1 + uy * (h / 2 + d * px)
                x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
                inside_w = max(0.0, min(x1, axb.x1) - max(x0, axb.x0))
                inside_h = max(0.0, min(y1, axb.y1) - max(y0, axb.y0))
                cost = 10 * (w * h - inside_w * inside_h)
                for q0, q1, q2, q3 in placed:
                    cost += max(0.0, min(x1, q2) - max(x0, q0)) * max(0.0, min(y1, q3) - max(y0, q1))
                if len(obs):
                    ox = np.minimum(x1, obs[:, 0] + r) - np.maximum(x0, obs[:, 0] - r)
                    oy = np.minimum(y1, obs[:, 1] + r) - np.maximum(y0, obs[:, 1] - r)
                    cost += float((ox.clip(min=0) * oy.clip(min=0)).sum())
                if cost < best_cost:
                    best, best_cost = (cx, cy, d, (x0, y0, x1, y1)), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        cx, cy, d, box = best
        placed.append(box)
        kw = dict(text_kw)
        if d > radius + 6:
            kw["arrowprops"] = {"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 1, "shrinkB": radius * 0.6}
        t = ax.annotate(
            label,
            xy=(x, y),
            xytext=((cx - p0) / px, (cy - p1) / px),
            textcoords="offset points",
            ha="center",
            va="center",
            **kw,
        )
        t.set_in_layout(False)
        out.append(t)
    return out


def _levels(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance ("NA" last)."""
    seen = list(dict.fromkeys(values.tolist()))
    if "NA" in seen:
        seen.remove("NA")
        seen.append("NA")
    return seen


def _palette(n: int) -> list[str]:
    if n <= len(CATEGORICAL):
        return CATEGORICAL[:n]
    cmap = matplotlib.colormaps["tab20"]
    return [mcolors.to_hex(cmap(i % 20)) for i in range(n)]
