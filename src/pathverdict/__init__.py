"""pathverdict: differential expression (pydeseq2), KEGG enrichment (gseapy) and a
verdict on whether a target pathway comes out on top.

The Snakemake workflow in this repository is a thin layer over this package; every
step can be imported and run from Python as well.
"""

__version__ = "0.1.0"

from .errors import InputError  # noqa: F401
