"""Writers of author count files and gene-set answers in the layouts the tools really produce
(issue 12), for the unit tests (tests/test_author_formats.py) and the snakemake runs.

* featureCounts (Subread 2.x) with several BAM files: a ``# Program:featureCounts`` line with
  the command, ``Geneid Chr Start End Strand Length`` then one column per BAM, named by the
  BAM path as given on the command line; exons joined with ``;`` in Chr/Start/End/Strand.
* featureCounts ``counts.txt.summary``: ``Status`` + one column per BAM, then ``Assigned``,
  ``Unassigned_*`` lines; Rsubread's ``fc$stat`` saved with R ``write.table(quote = TRUE,
  row.names = FALSE)`` is the same with every text in double quotes.
* R ``write.table(counts, sep = "\\t")`` (defaults ``quote = TRUE``, ``row.names = TRUE``): the
  header names the columns only (one field fewer than the rows), text in double quotes.
* htseq-count ``--additional-attr gene_name``: ``gene_id<TAB>gene_name<TAB>count``; the special
  counters ``__no_feature`` ... padded with an empty attribute field (HTSeq >= 0.12) or not (older).
* STAR ``ReadsPerGene.out.tab``: ``N_unmapped``, ``N_multimapping``, ``N_noFeature``,
  ``N_ambiguous``, then ``gene<TAB>unstranded<TAB>forward<TAB>reverse``.
* Enrichr text library saved by a spreadsheet (classic Mac "Text (Tab delimited)"): CR-only line
  endings, and the empty description column dropped on some lines (a single tab after the term).
* KEGG REST ``list/hsa`` lines with a name and no ``; description``, and ``link`` lines with a
  third column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FC_VERSION = "v2.0.3"
STAR_SPECIAL = ("N_unmapped", "N_multimapping", "N_noFeature", "N_ambiguous")


def bam_path(sample: str, directory: str = "/scratch/rnaseq/star/") -> str:
    return f"{directory}{sample}.Aligned.sortedByCoord.out.bam"


def featurecounts_table(counts: pd.DataFrame, bam=bam_path) -> str:
    bams = [bam(s) for s in counts.columns]
    cmd = " ".join(
        f'"{a}"'
        for a in [
            "featureCounts",
            "-T",
            "8",
            "-s",
            "2",
            "-p",
            "--countReadPairs",
            "-a",
            "gencode.v38.annotation.gtf",
            "-o",
            "counts.txt",
            *bams,
        ]
    )
    out = [
        f"# Program:featureCounts {FC_VERSION}; Command:{cmd}",
        "\t".join(["Geneid", "Chr", "Start", "End", "Strand", "Length", *bams]),
    ]
    for k, (gene, row) in enumerate(counts.iterrows()):
        start = 10000 + 5000 * k
        exons = [(start, start + 120), (start + 900, start + 1200), (start + 2000, start + 2300)]
        out.append(
            "\t".join(
                [
                    gene,
                    ";".join(["chr1"] * 3),
                    ";".join(str(a) for a, _ in exons),
                    ";".join(str(b) for _, b in exons),
                    ";".join(["+"] * 3),
                    str(sum(b - a + 1 for a, b in exons)),
                    *map(str, row.tolist()),
                ]
            )
        )
    return "\n".join(out) + "\n"


SUMMARY_ROWS = [
    "Assigned",
    "Unassigned_Unmapped",
    "Unassigned_Read_Type",
    "Unassigned_Singleton",
    "Unassigned_MappingQuality",
    "Unassigned_Chimera",
    "Unassigned_FragmentLength",
    "Unassigned_Duplicate",
    "Unassigned_MultiMapping",
    "Unassigned_Secondary",
    "Unassigned_NonSplit",
    "Unassigned_NoFeatures",
    "Unassigned_Overlapping_Length",
    "Unassigned_Ambiguity",
]


def featurecounts_summary(bams: list[str], quoted: bool = False) -> str:
    q = (lambda t: f'"{t}"') if quoted else (lambda t: t)
    lines = ["\t".join([q("Status")] + [q(b) for b in bams])]
    for k, status in enumerate(SUMMARY_ROWS):
        lines.append(
            "\t".join([q(status)] + [str((k * 7919) % 100000 if k else 21000000 + j) for j in range(len(bams))])
        )
    return "\n".join(lines) + "\n"


def r_write_table(counts: pd.DataFrame) -> str:
    """R: write.table(counts, file, sep = "\\t") -- quote = TRUE, row.names = TRUE, col.names = TRUE."""
    lines = ["\t".join(f'"{c}"' for c in counts.columns)]
    lines += ["\t".join([f'"{g}"', *map(str, row.tolist())]) for g, row in counts.iterrows()]
    return "\n".join(lines) + "\n"


def htseq_additional_attr(counts: pd.Series, names: dict[str, str], padded: bool = True) -> str:
    lines = [f"{g}\t{names.get(g, '')}\t{int(v)}" for g, v in counts.items()]
    special = {
        "__no_feature": 120345,
        "__ambiguous": 4512,
        "__too_low_aQual": 0,
        "__not_aligned": 0,
        "__alignment_not_unique": 80012,
    }
    lines += [f"{k}\t\t{v}" if padded else f"{k}\t{v}" for k, v in special.items()]
    return "\n".join(lines) + "\n"


def star_reads_per_gene(counts: pd.Series, library: str, seed: int = 0) -> str:
    """A ReadsPerGene.out.tab of a library that is `reverse` (dUTP), `forward` or `unstranded`,
    with `counts` in the right column and the wrong-strand column nearly empty; `unclear` gives
    forward and reverse N_noFeature neither close nor clearly apart."""
    rng = np.random.default_rng(seed)
    c = counts.to_numpy(dtype=np.int64)
    other = rng.binomial(c, 0.02)  # 2% of the reads counted on the wrong strand
    total = int(c.sum())
    base = total // 5  # reads outside any gene (intergenic, intronic): no feature on either strand
    if library == "reverse":
        fwd, rev, unstr = other, c, c + other
        nf = (base, base + total, base + int(other.sum()))
    elif library == "forward":
        fwd, rev, unstr = c, other, c + other
        nf = (base, base + int(other.sum()), base + total)
    elif library == "unstranded":
        half = rng.binomial(c, 0.5)
        fwd, rev, unstr = half, c - half, c
        nf = (base, base + total - int(half.sum()), base + int(half.sum()))
    else:  # unclear
        fwd, rev, unstr = c, (c * 0.8).astype(np.int64), c
        nf = (900_000, 1_000_000, 1_250_000)
    lines = [
        f"N_unmapped\t{2_000_000}\t{2_000_000}\t{2_000_000}",
        f"N_multimapping\t{3_100_000}\t{3_100_000}\t{3_100_000}",
        f"N_noFeature\t{nf[0]}\t{nf[1]}\t{nf[2]}",
        f"N_ambiguous\t{150_000}\t{4_000}\t{3_800}",
    ]
    lines += [f"{g}\t{u}\t{f}\t{r}" for g, u, f, r in zip(counts.index, unstr, fwd, rev)]
    return "\n".join(lines) + "\n"


def enrichr_from_spreadsheet(sets: dict[str, list[str]], single_tab: set[str] = frozenset()) -> bytes:
    """Enrichr text (term<TAB><TAB>genes) as saved by a spreadsheet: CR line endings; the terms in
    `single_tab` lost their empty description column."""
    lines = [(f"{t}\t" if t in single_tab else f"{t}\t\t") + "\t".join(g) for t, g in sets.items()]
    return ("\r".join(lines) + "\r").encode()
