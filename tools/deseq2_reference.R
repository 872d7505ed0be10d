#!/usr/bin/env Rscript
# Reference run of R DESeq2 for tools/fidelity_vs_r.py and the stored expected values of the tests
# (tests/r_expected.py writes tests/data/r_expected/).
#
# Usage: Rscript tools/deseq2_reference.R COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUT [FITTYPE]
#        Rscript tools/deseq2_reference.R --manifest MANIFEST.tsv
#
#   COUNTS   tsv (optionally .gz): first column gene_id, one column per sample, integer counts.
#            The caller has already applied the pre-filter, so R sees exactly the genes we test.
#   SAMPLES  tsv with a `sample` column plus the covariates named in DESIGN.
#   DESIGN   e.g. "~run + Tissue"
#   OUT      results tsv: gene_id + results(dds, contrast=c(VARIABLE, TESTED, REFERENCE), alpha=0.05)
#            columns, plus diagnostic columns from mcols(dds). A sidecar OUT.meta.tsv holds
#            key/value metadata (versions, timings, independent-filtering threshold, size factors).
#   FITTYPE  optional: DESeq(fitType = FITTYPE); "glmGamPoi" (benchmarks/run.py) also fits the GLMs
#            and gene-wise dispersions with glmGamPoi (Debian r-bioc-glmgampoi). Default: DESeq()'s.
#   MANIFEST tsv with the columns counts, samples, design, variable, tested, reference, out (one
#            analysis per row, as above, in one R session: DESeq2 is loaded once).
#
# Defaults of DESeq() and results() are used throughout (Wald test, parametric fit, Cook's
# cutoff, outlier replacement for >= 7 replicates, independent filtering). Character
# covariates become factors with levels in C-locale sorted order, as pydeseq2/formulaic does.
# Exit status: 0 ok, 2 DESeq2 not installed, 1 any other error.

args <- commandArgs(trailingOnly = TRUE)
manifest <- length(args) == 2 && args[1] == "--manifest"
if (!manifest && !(length(args) %in% c(7, 8))) {
  cat("usage: deseq2_reference.R COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUT [FITTYPE]\n",
      "       deseq2_reference.R --manifest MANIFEST.tsv\n", sep = "", file = stderr())
  quit(status = 1)
}
fit_type <- if (length(args) == 8) args[8] else NULL
needed <- c("DESeq2", if (identical(fit_type, "glmGamPoi")) "glmGamPoi")
for (pkg in needed) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    cat("R package", pkg, "is not installed (Debian: apt-get install r-bioc-", tolower(pkg), ")\n", sep = "",
        file = stderr())
    quit(status = 2)
  }
}
suppressPackageStartupMessages(for (pkg in needed) library(pkg, character.only = TRUE))

run_one <- function(counts_file, samples_file, design, variable, tested, reference, out) {
  design <- as.formula(design)
  counts <- read.delim(counts_file, check.names = FALSE, stringsAsFactors = FALSE)
  rownames(counts) <- counts[[1]]
  counts <- as.matrix(counts[, -1, drop = FALSE])
  storage.mode(counts) <- "integer"

  samples <- read.delim(samples_file, check.names = FALSE, stringsAsFactors = FALSE,
                        colClasses = "character")
  rownames(samples) <- samples$sample
  samples <- samples[colnames(counts), , drop = FALSE]
  for (v in all.vars(design)) {
    samples[[v]] <- factor(samples[[v]], levels = sort(unique(samples[[v]]), method = "radix"))
  }

  dds <- DESeqDataSetFromMatrix(counts, samples, design)
  t0 <- proc.time()[["elapsed"]]
  dds <- if (is.null(fit_type)) DESeq(dds, quiet = TRUE) else DESeq(dds, fitType = fit_type, quiet = TRUE)
  res <- results(dds, contrast = c(variable, tested, reference), alpha = 0.05)
  elapsed <- proc.time()[["elapsed"]] - t0

  mc <- mcols(dds)
  diag_cols <- c("dispGeneEst", "dispFit", "dispMAP", "dispersion", "dispOutlier", "maxCooks",
                 "replace", "betaConv", "allZero")
  diag <- as.data.frame(mc[, intersect(diag_cols, colnames(mc)), drop = FALSE])
  table_out <- data.frame(gene_id = rownames(res), as.data.frame(res), diag, check.names = FALSE)
  write.table(table_out, out, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")

  md <- metadata(res)
  dispFn <- dispersionFunction(dds)
  coefs <- attr(dispFn, "coefficients")
  if (is.null(coefs)) coefs <- c(asymptDisp = NA, extraPois = NA)
  num <- function(x) if (is.null(x)) NA_character_ else format(x, digits = 17)
  meta <- data.frame(
    key = c("deseq2_version", "r_version", "seconds", "filterThreshold", "filterTheta",
            "fitType", "asymptDisp", "extraPois", "varLogDispEsts", "dispPriorVar", "glmgampoi_version",
            paste0("sizeFactor:", colnames(dds)), paste0("numRej:", seq_along(md$filterNumRej$numRej))),
    value = c(as.character(packageVersion("DESeq2")), R.version$version.string, format(elapsed),
              format(unname(md$filterThreshold), digits = 17), format(md$filterTheta, digits = 17),
              num(attr(dispFn, "fitType")), format(unname(coefs), digits = 17),
              num(attr(dispFn, "varLogDispEsts")), num(attr(dispFn, "dispPriorVar")),
              if ("glmGamPoi" %in% needed) as.character(packageVersion("glmGamPoi")) else NA_character_,
              format(sizeFactors(dds), digits = 17), format(md$filterNumRej$numRej)),
    stringsAsFactors = FALSE)
  write.table(meta, paste0(out, ".meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
}

if (manifest) {
  jobs <- read.delim(args[2], colClasses = "character", na.strings = character(0), quote = "")
  for (i in seq_len(nrow(jobs))) {
    with(jobs[i, ], run_one(counts, samples, design, variable, tested, reference, out))
  }
} else {
  run_one(args[1], args[2], args[3], args[4], args[5], args[6], args[7])
}
