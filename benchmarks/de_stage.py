#!/usr/bin/env python3
"""The DE stage alone, as one process: read a count matrix and a sample sheet, run
``pathverdict.de.run_deseq2`` with the workflow's default DE settings (alpha 0.05, no pre-filter,
Cook's and independent filtering on, no shrinkage), write the results table.

Usage::

    python benchmarks/de_stage.py [--engine ENGINE] COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUT
    python benchmarks/de_stage.py [--engine ENGINE] --step COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUTDIR

(the same arguments as ``tools/deseq2_reference.R``; ``--engine``: ``de.engine``, r_exact by default or
pydeseq2, whose joblib worker processes are shut down and waited for before the process ends, so that
``/usr/bin/time`` counts their CPU time; ``peak_tree_rss_mb`` in the JSON line is the largest sum of the
resident sets of this process and its children, sampled every 0.1 s, and ``cpu_tree_s`` their CPU
time: with more than one thread pydeseq2's workers are separate processes, which ``/usr/bin/time``'s
maximum (of one process) misses, and whose CPU it can miss).
With ``--step`` the process runs the
workflow's whole DE step instead, the function the ``deseq2`` rule's script calls
(``pathverdict.steps.run_de``, with the workflow's default settings from the config schema):
read the count matrix (int32) and the sample sheet, fit, results, write ``de.tsv``,
``normalized_counts.tsv.gz``, ``vst.tsv.gz`` and ``de_summary.json`` into OUTDIR (plus the
``gene_ids.tsv`` the step reads, symbol = gene ID); the JSON line then has ``seconds`` = the whole
step and ``cpu_seconds`` (user + system of this process). COUNTS: tsv(.gz), first column gene IDs;
SAMPLES: tsv with a ``sample`` column. OUT: results tsv (gene_id + RESULT_COLUMNS, full
precision). Last line on stdout: JSON with ``seconds`` (the ``run_deseq2`` call only, as R's
``seconds`` is ``DESeq()`` + ``results()`` only), ``seconds_read``, ``seconds_write``,
``genes_in``, ``genes_tested`` and ``samples``. ``benchmarks/run.py`` runs this under
``/usr/bin/time -v``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without `pip install -e`
    sys.path.insert(0, str(REPO / "src"))


def read_counts_compact(path, sample_order: list[str], chunk_rows: int = 5000):
    """The count matrix as one C-ordered int32 block (uint32 / int64 only when needed), in
    ``sample_order``, read in chunks of ``chunk_rows`` genes: the peak is the matrix plus one
    chunk, not pandas' int64 frame plus its reordered copy."""
    import numpy as np
    import pandas as pd

    header = pd.read_csv(path, sep="\t", nrows=0, index_col=0)
    missing = [s for s in sample_order if s not in header.columns]
    if missing:
        raise SystemExit(f"{path}: sample(s) {missing[:5]} of the sample sheet are not columns of the count matrix")
    order = [list(header.columns).index(s) for s in sample_order]
    blocks, ids = [], []
    for chunk in pd.read_csv(path, sep="\t", index_col=0, chunksize=chunk_rows):
        values = chunk.to_numpy()[:, order]
        wide = bool(values.size) and (values.min() < 0 or values.max() > np.iinfo(np.int32).max)
        blocks.append(np.ascontiguousarray(values, dtype=np.int64 if wide else np.int32))
        ids.append(chunk.index.astype(str))
    dtype = np.result_type(*[b.dtype for b in blocks]) if blocks else np.int32
    matrix = np.empty((sum(len(b) for b in blocks), len(order)), dtype=dtype)
    at = 0
    while blocks:  # free each chunk once copied
        b = blocks.pop(0)
        matrix[at : at + len(b)] = b
        at += len(b)
    index = pd.Index(np.concatenate([np.asarray(i) for i in ids]) if ids else [], name="gene_id")
    return pd.DataFrame(matrix, index=index, columns=sample_order, copy=False)


class TreeRSS:
    """Largest sum of the resident set sizes of this process and its descendants, and the CPU time its
    descendants used (psutil, every 0.1 s): pydeseq2's joblib workers are not always reaped by this
    process, so ``/usr/bin/time`` (and ``RUSAGE_CHILDREN``) can miss their CPU."""

    def __init__(self, interval: float = 0.1):
        import threading

        self.peak = 0
        self.children_cpu: dict[int, float] = {}  # pid -> user + system seconds, last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                    if proc.pid != me.pid:
                        t = proc.cpu_times()
                        self.children_cpu[proc.pid] = t.user + t.system
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20

    def cpu(self) -> float:
        """User + system seconds of this process and of every descendant seen."""
        own = os.times()
        return own.user + own.system + sum(self.children_cpu.values())


def end_workers(engine: str) -> None:
    """Shut pydeseq2's joblib (loky) worker processes down and wait for them: their CPU time then
    counts in this process's children, as ``/usr/bin/time`` reports it."""
    if engine == "pydeseq2":
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


def run_step(
    counts_path: str, samples_path: str, design: str, contrast: list[str], outdir: str, engine: str = "r_exact"
) -> dict:
    """The deseq2 rule's step function (``steps.run_de``) on these files, as the rule calls it."""
    from pathverdict import config
    from pathverdict.steps.de import run_de

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    genes = out / "gene_ids.tsv"
    import gzip

    opener = gzip.open if str(counts_path).endswith(".gz") else open
    with opener(counts_path, "rt") as fh, open(genes, "w") as g:  # the prepare step's gene table: gene_id, symbol
        next(fh)
        g.write("gene_id\tsymbol\n")
        for line in fh:
            gid = line.split("\t", 1)[0]
            g.write(f"{gid}\t{gid}\n")
    cfg = config.validate_config(
        {
            "datasets": {"x": {"counts": "c.tsv", "samples": "s.tsv", "design": design, "contrast": contrast}},
            "genesets": "x.gmt",
            "target_pathway": "x",
            "annotation": "x.tsv.gz",
        },
        "benchmark defaults",
    )
    ds = {"design": design, "contrast": contrast}
    threads = int(os.environ.get("PATHVERDICT_DE_THREADS", "1"))
    t0, c0 = time.perf_counter(), time.process_time()
    summary = run_de(
        dataset="benchmark",
        dataset_config=ds,
        de=dict(cfg["de"], engine=engine),
        counts=str(counts_path),
        samples=str(samples_path),
        genes=str(genes),
        out_de=str(out / "de.tsv"),
        out_normalized=str(out / "normalized_counts.tsv.gz"),
        out_vst=str(out / "vst.tsv.gz"),
        out_summary=str(out / "de_summary.json"),
        threads=threads,
    )
    end_workers(engine)
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "genes_in": int(summary["genes_in"]),
        "genes_tested": int(summary["genes_tested"]),
        "samples": len(summary["size_factors"]),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    engine = "r_exact"
    if args[:1] == ["--engine"] and len(args) > 1:
        engine, args = args[1], args[2:]
    tree = TreeRSS()
    if args[:1] == ["--step"]:
        if len(args) != 8:
            print(__doc__.split("Usage::")[1].split("(the same")[0].strip(), file=sys.stderr)
            return 1
        counts_path, samples_path, design, var, tested, reference, outdir = args[1:]
        info = run_step(counts_path, samples_path, design, [var, tested, reference], outdir, engine)
        print(json.dumps(dict(info, peak_tree_rss_mb=tree.stop(), cpu_tree_s=tree.cpu(), engine=engine)))
        return 0
    if len(args) != 7:
        print(__doc__.split("Usage::")[1].split("(the same")[0].strip(), file=sys.stderr)
        return 1
    counts_path, samples_path, design, var, tested, reference, out = args

    import pandas as pd

    from pathverdict.de import DEParams, run_deseq2

    t0 = time.perf_counter()
    samples = pd.read_csv(samples_path, sep="\t", dtype=str, keep_default_na=False).set_index("sample")
    counts = read_counts_compact(counts_path, list(samples.index))
    t1 = time.perf_counter()
    threads = int(os.environ.get("PATHVERDICT_DE_THREADS", "1"))  # benchmarks/run.py --de-threads
    if engine == "pydeseq2":
        import pydeseq2.dds  # noqa: F401  (its import is not part of the fit's time, as R's library() is not)

        t1 = time.perf_counter()
    params = DEParams(design=design, contrast=[var, tested, reference], threads=threads, engine=engine)
    result = run_deseq2(counts, samples, params)
    t2 = time.perf_counter()
    result.results.to_csv(out, sep="\t", na_rep="NA")
    t3 = time.perf_counter()
    end_workers(engine)
    print(
        json.dumps(
            {
                "seconds": t2 - t1,
                "seconds_read": t1 - t0,
                "seconds_write": t3 - t2,
                "genes_in": int(counts.shape[0]),
                "genes_tested": int(result.summary["genes_tested"]),
                "samples": int(counts.shape[1]),
                "peak_tree_rss_mb": tree.stop(),
                "cpu_tree_s": tree.cpu(),
                "engine": engine,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
