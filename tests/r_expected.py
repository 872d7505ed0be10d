"""What R computes for fixed inputs, stored in ``tests/data/r_expected/<case>/`` so that the fast tests
compare our DE (``pathverdict.de.run_deseq2``) and CAMERA (``pathverdict.enrichment.camera``) with R without
running R, and the full tier checks that the stored files are still what R produces.

Cases (the inputs are the real sets of ``../shared/data``, which are not copied here: only R's results
and the sha256 of the exact matrix R was given):

* ``deseq2_<set>``: ``DESeq()`` + ``results(alpha = 0.05)`` on the raw matrix of each real set, as
  ``tools/fidelity_vs_r.py`` runs it; ``deseq2_li2008_lncap_prefilter10``: R on the matrix after the
  opt-in pre-filter (>= 10 reads in >= the smaller group);
* ``deseq2_stress_<variant>``: the ``--stress`` variants of ``tools/fidelity_vs_r.py`` (added all-zero
  and single-read genes, planted outliers, a 3-level factor, 2 vs 2 and 3 vs 2 designs), built from the
  real sets with a seeded numpy generator; both sides get the same matrix;
* ``camera_<set>``: ``limma::camera`` (inter.gene.cor 0.01 and NA) on the workflow's own camera input
  (VST by symbol, design, contrast, KEGG_2021_Human sets), as ``tools/camera_vs_r.py`` builds it.

Stored per case: ``results.tsv.gz`` (DESeq2: gene_id, log2FoldChange, pvalue, padj -- the columns the
tests compare -- rounded to ``DESEQ2_DIGITS`` significant digits) or ``fixed.tsv.gz`` /
``estimated.tsv.gz`` (camera: every column of R's table, R's full precision), and ``meta.tsv`` (the case,
the sha256 of R's input, R and package versions, R's fit summary). The R code is
``tools/deseq2_reference.R`` and ``tools/camera_reference.R``.

Regenerate (needs Rscript with DESeq2 and limma, and the shared data)::

    python tests/r_expected.py            # every case
    python tests/r_expected.py CASE ...   # some
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO / "src", REPO / "tools"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import camera_vs_r as cvr  # noqa: E402
import fidelity_vs_r as fid  # noqa: E402

DATA = REPO / "tests" / "data" / "r_expected"
DESEQ2_COLUMNS = ["log2FoldChange", "pvalue", "padj"]
DESEQ2_DIGITS = {"log2FoldChange": 8, "pvalue": 6, "padj": 9}  # significant digits stored
REGENERATE = "python tests/r_expected.py"


@dataclass(frozen=True)
class DESeq2Case:
    name: str
    dataset: str  # a real set of tools/fidelity_vs_r.py DATASETS (source of the stress variant)
    min_count: int = 0  # the opt-in pre-filter (0: none, R gets the raw matrix)
    stress: str | None = None  # a tools/fidelity_vs_r.py --stress variant
    # padj < 0.05 call agreement with R (%) measured when the case was stored, asserted by the tests
    # (docs/fidelity.md): 100 except li2008 3 vs 2, where R's simulated df = 3 prior variance differs
    min_agreement: float = 100.0


def _deseq2_cases() -> dict[str, DESeq2Case]:
    cases = [DESeq2Case(f"deseq2_{name}", name) for name in fid.DATASETS]
    cases.append(DESeq2Case("deseq2_li2008_lncap_prefilter10", "li2008_lncap", min_count=fid.OPT_IN_MIN_COUNT))
    for variant, spec in fid.STRESS.items():
        cases.append(
            DESeq2Case(
                f"deseq2_stress_{variant}",
                spec[0],
                stress=variant,
                min_agreement=99.9 if variant == "li2008_3v2" else 100.0,
            )
        )
    return {c.name: c for c in cases}


DESEQ2_CASES = _deseq2_cases()
CAMERA_CASES = {f"camera_{name}": name for name in ("li2008_lncap", "marioni2008_kidney_liver")}


def all_cases() -> list[str]:
    return list(DESEQ2_CASES) + list(CAMERA_CASES)


# ----------------------------------------------------------------------------------------- DESeq2


@dataclass
class DESeq2Input:
    case: DESeq2Case
    ds: fid.Dataset
    r_counts: pd.DataFrame  # exactly the matrix R gets
    our_counts: pd.DataFrame  # what run_deseq2 gets (it applies min_count itself)
    samples: pd.DataFrame
    min_count: int
    min_samples: int | None

    def r_files(self) -> tuple[bytes, bytes]:
        """The counts and samples tsv given to R (the bytes the sha256 is taken over)."""
        counts = self.r_counts.rename_axis("gene_id").to_csv(sep="\t", lineterminator="\n")
        samples = self.samples.rename_axis("sample").to_csv(sep="\t", lineterminator="\n")
        return counts.encode(), samples.encode()

    def sha256(self) -> str:
        h = hashlib.sha256()
        for part in self.r_files():
            h.update(part)
        return h.hexdigest()


def deseq2_input(name: str, shared: Path) -> DESeq2Input:
    case = DESEQ2_CASES[name]
    if case.stress:
        ds, counts, samples = fid.stress_input(case.stress, shared)
        return DESeq2Input(case, ds, counts, counts, samples, 0, 1)
    ds = fid.DATASETS[case.dataset]
    counts, samples = fid.load_dataset(shared, ds)
    return DESeq2Input(
        case, ds, fid.r_input(counts, samples, ds.contrast, case.min_count), counts, samples, case.min_count, None
    )


def run_r_deseq2(inputs: list[DESeq2Input], workdir: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    """R DESeq2 on every input in one R session (tools/deseq2_reference.R --manifest); per case R's
    results table (all columns, R's precision) and meta."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for inp in inputs:
        counts, samples = inp.r_files()
        stem = workdir / inp.case.name
        (c_file := stem.with_suffix(".counts.tsv")).write_bytes(counts)
        (s_file := stem.with_suffix(".samples.tsv")).write_bytes(samples)
        var, tested, ref = inp.ds.contrast
        jobs.append([str(c_file), str(s_file), inp.ds.design, var, tested, ref, str(stem.with_suffix(".R.tsv"))])
    manifest = workdir / "manifest.tsv"
    pd.DataFrame(jobs, columns=["counts", "samples", "design", "variable", "tested", "reference", "out"]).to_csv(
        manifest, sep="\t", index=False
    )
    cmd = ["Rscript", str(fid.R_SCRIPT), "--manifest", str(manifest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out = {}
    for inp, job in zip(inputs, jobs):
        res = pd.read_csv(
            job[-1], sep="\t", index_col=0, dtype={"gene_id": str}, na_values=["NA"], keep_default_na=False
        )
        meta = pd.read_csv(job[-1] + ".meta.tsv", sep="\t", dtype=str, keep_default_na=False)
        out[inp.case.name] = (res, dict(zip(meta["key"], meta["value"])))
    return out


def round_deseq2(res: pd.DataFrame) -> pd.DataFrame:
    """The stored form of R's results: the compared columns at DESEQ2_DIGITS significant digits."""
    out = res[DESEQ2_COLUMNS].copy()
    for col, digits in DESEQ2_DIGITS.items():
        out[col] = [float(f"{v:.{digits}g}") if np.isfinite(v) else v for v in out[col].to_numpy(dtype=float)]
    out.index = out.index.astype(str)
    out.index.name = "gene_id"
    return out


def _write_gz(df: pd.DataFrame, path: Path, **kwargs) -> None:
    text = df.to_csv(sep="\t", lineterminator="\n", na_rep="NA", **kwargs)
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.encode())


def _write_meta(path: Path, meta: dict) -> None:
    lines = ["key\tvalue"] + [f"{k}\t{v}" for k, v in meta.items()]
    path.write_text("\n".join(lines) + "\n")


def read_meta(case: str) -> dict:
    path = DATA / case / "meta.tsv"
    meta = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return dict(zip(meta["key"], meta["value"]))


def read_deseq2(case: str) -> pd.DataFrame:
    """The stored R DESeq2 results of ``case`` (gene_id index; log2FoldChange, pvalue, padj)."""
    return pd.read_csv(
        DATA / case / "results.tsv.gz",
        sep="\t",
        index_col=0,
        dtype={"gene_id": str},
        na_values=["NA"],
        keep_default_na=False,
    )


def store_deseq2(inp: DESeq2Input, res: pd.DataFrame, rmeta: dict) -> None:
    folder = DATA / inp.case.name
    folder.mkdir(parents=True, exist_ok=True)
    stored = round_deseq2(res)
    _write_gz(stored, folder / "results.tsv.gz", float_format=None)
    case = inp.case
    meta = {
        "case": case.name,
        "what": "R DESeq2: DESeq() + results(contrast, alpha = 0.05), default arguments (tools/deseq2_reference.R)",
        "dataset": case.dataset,
        "stress_variant": case.stress or "",
        "prefilter_min_count": case.min_count,
        "design": inp.ds.design,
        "contrast": " ".join(inp.ds.contrast),
        "input": "the matrix R was given: ../shared/data/counts/<dataset> "
        + (
            "as modified by tools/fidelity_vs_r.py --stress"
            if case.stress
            else "(pre-filtered)"
            if case.min_count
            else "(raw)"
        ),
        "input_sha256": inp.sha256(),
        "genes": len(inp.r_counts),
        "samples": inp.r_counts.shape[1],
        "r_tested": int(res["pvalue"].notna().sum()),
        "r_sig_padj_0.05": int(res["padj"].lt(0.05).sum()),
        "stored_columns": ", ".join(f"{c} ({DESEQ2_DIGITS[c]} significant digits)" for c in DESEQ2_COLUMNS),
        "min_call_agreement_pct": case.min_agreement,
        "r_version": rmeta.get("r_version", ""),
        "deseq2_version": rmeta.get("deseq2_version", ""),
        "fitType": rmeta.get("fitType", ""),
        "dispPriorVar": rmeta.get("dispPriorVar", ""),
        "filterThreshold": rmeta.get("filterThreshold", ""),
        "regenerate": f"{REGENERATE} {case.name}",
    }
    _write_meta(folder / "meta.tsv", meta)


# ----------------------------------------------------------------------------------------- camera


@dataclass
class CameraInput:
    case: str
    dataset: str
    y: pd.DataFrame
    design: np.ndarray
    contrast: np.ndarray
    columns: list[str]
    sets: dict[str, list[str]]  # restricted to y's genes and the size limits: what R gets
    library: object  # the full library (pathverdict.genesets), what pathverdict.enrichment.camera gets


def camera_input(case: str, shared: Path) -> CameraInput:
    from pathverdict import enrichment, genesets

    dataset = CAMERA_CASES[case]
    lib = genesets.read_library(str(cvr.library_path(shared)), cvr.LIBRARY)
    y, design, contrast, columns = cvr.workflow_input(dataset, shared)
    sets = enrichment.restrict_sets(lib.sets, set(y.index), cvr.MIN_SIZE, cvr.MAX_SIZE)
    return CameraInput(case, dataset, y, design, contrast, columns, sets, lib)


def run_r_camera(inp: CameraInput, workdir: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    return cvr.run_reference(inp.dataset, inp.y, inp.design, inp.contrast, inp.columns, inp.sets, workdir)


def read_camera(case: str) -> dict[str, pd.DataFrame]:
    """The stored R limma::camera tables of ``case`` per setting (fixed, estimated), indexed by term."""
    out = {}
    for setting in cvr.SETTINGS:
        t = pd.read_csv(
            DATA / case / f"{setting}.tsv.gz",
            sep="\t",
            dtype={"term": str},
            keep_default_na=False,
            na_values={"Correlation": ["NA"]},
        )
        out[setting] = t.set_index("term")
    return out


def store_camera(inp: CameraInput, tables: dict[str, pd.DataFrame], rmeta: dict, workdir: Path) -> None:
    folder = DATA / inp.case
    folder.mkdir(parents=True, exist_ok=True)
    for setting, table in tables.items():
        _write_gz(table, folder / f"{setting}.tsv.gz")
    h = hashlib.sha256()
    for suffix in ("expr", "design", "contrast", "sets"):
        h.update((workdir / f"{inp.dataset}.{suffix}.tsv").read_bytes())
    meta = {
        "case": inp.case,
        "what": "R limma::camera(inter.gene.cor = 0.01) -> fixed.tsv.gz, (inter.gene.cor = NA) -> estimated.tsv.gz "
        "(tools/camera_reference.R)",
        "dataset": inp.dataset,
        "input": "the workflow's camera input built by tools/camera_vs_r.py from ../shared/data: VST by symbol of "
        "run_deseq2, design, contrast, KEGG_2021_Human sets (15..500 genes)",
        "input_sha256": h.hexdigest() + " (the four tsv files at %.17g; information only: the VST may change in "
        "the last bits)",
        "genes": len(inp.y),
        "samples": inp.y.shape[1],
        "sets": len(inp.sets),
        "stored_columns": "every column of R's table, R's precision",
        "r_version": rmeta.get("R_version", ""),
        "limma_version": rmeta.get("limma_version", ""),
        "regenerate": f"{REGENERATE} {inp.case}",
    }
    _write_meta(folder / "meta.tsv", meta)


# ----------------------------------------------------------------------------------------- main

R_PACKAGES = ("DESeq2", "limma", "locfit")  # locfit: DESeq2's local dispersion trend


def r_versions() -> dict:
    """The R version and those of the R packages that computed the stored results."""
    code = 'cat(R.version$version.string, sep = "\\n"); ' + "; ".join(
        f'cat(as.character(packageVersion("{p}")), sep = "\\n")' for p in R_PACKAGES
    )
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True).stdout.splitlines()
    return dict(zip(["R", *R_PACKAGES], out))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("cases", nargs="*", metavar="CASE", help="default: all of " + ", ".join(all_cases()))
    ap.add_argument(
        "--shared", type=Path, default=None, help="shared data (default $PATHVERDICT_SHARED or ../shared/data)"
    )
    args = ap.parse_args(argv)
    cases = args.cases or all_cases()
    unknown = sorted(set(cases) - set(all_cases()))
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; the cases are: {', '.join(all_cases())}")
    shared = args.shared or fid.default_shared()
    for package in ("DESeq2", "limma"):
        reason = fid.r_unavailable_reason(package)
        if reason:
            print(f"r_expected: {reason}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="r_expected_") as tmp:
        tmp = Path(tmp)
        inputs = [deseq2_input(c, shared) for c in cases if c in DESEQ2_CASES]
        if inputs:
            print(f"[r_expected] R DESeq2 on {len(inputs)} case(s) ...", file=sys.stderr, flush=True)
            results = run_r_deseq2(inputs, tmp)
            for inp in inputs:
                store_deseq2(inp, *results[inp.case.name])
        for case in (c for c in cases if c in CAMERA_CASES):
            print(f"[r_expected] R limma::camera on {case} ...", file=sys.stderr, flush=True)
            inp = camera_input(case, shared)
            tables, rmeta = run_r_camera(inp, tmp / case)
            store_camera(inp, tables, rmeta, tmp / case)
    versions = r_versions()
    _write_meta(DATA / "versions.tsv", versions)
    print(f"[r_expected] written to {DATA} ({', '.join(f'{k} {v}' for k, v in versions.items())})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
