"""Figures for the Snakemake HTML report.

Every plotting function takes pandas objects as read from the workflow's TSV outputs,
writes exactly one file (PNG at 150 dpi by default; ``.svg`` and ``.pdf`` work too);
figures are made without pyplot, so nothing global is left behind. A PNG is laid out once
(constrained layout), drawn once and written by Pillow as RGB at zlib level 3 (the pixels
matplotlib's ``savefig`` draws, without its extra layout pass).
Files are written atomically (:func:`pathverdict.util.atomic_file`: a temporary file in
the same directory, then a rename) and deterministically (fixed seeds, fixed
``svg.hashsalt``, no timestamps in the metadata), so re-running a step gives
byte-identical files.

Degenerate input (no significant genes, padj all NA, a target pathway with no genes
in the data, empty enrichment tables, a single sample, ...) never raises: the figure
is still written, with a note saying what is missing.

Modules: :mod:`.style` (colours, rc settings, saving, label placement), :mod:`.de` (one
dataset: :func:`pca_plot` with :func:`pca_coordinates`, :func:`ma_plot`, :func:`volcano_plot`
with :func:`pick_labels`), :mod:`.pathways` (:func:`enrichment_dotplot`,
:func:`target_heatmap`, :func:`robustness_heatmap`).
"""

from .de import ma_plot, not_drawn, pca_coordinates, pca_plot, pick_labels, volcano_plot
from .pathways import enrichment_dotplot, robustness_heatmap, target_heatmap
from .style import MAX_LABELS, fit_title

__all__ = [
    "pca_coordinates",
    "pca_plot",
    "ma_plot",
    "not_drawn",
    "pick_labels",
    "volcano_plot",
    "enrichment_dotplot",
    "target_heatmap",
    "robustness_heatmap",
    "fit_title",
    "MAX_LABELS",
]
