#!/usr/bin/env Rscript
# R DESeq2 with the glmGamPoi back end, for benchmarks/run.py (issue 14): the same inputs and
# outputs as tools/deseq2_reference.R, but DESeq(dds, fitType = "glmGamPoi") (which also fits the
# GLMs and the gene-wise dispersions with glmGamPoi) + results(alpha = 0.05).
#
# Usage: Rscript benchmarks/deseq2_glmgampoi.R COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUT
# OUT: results tsv (gene_id + results columns); OUT.meta.tsv: key/value with `seconds`
# (DESeq() + results() only). Exit status: 0 ok, 2 DESeq2 or glmGamPoi not installed, 1 other error.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 7) {
  cat("usage: deseq2_glmgampoi.R COUNTS SAMPLES DESIGN VARIABLE TESTED REFERENCE OUT\n", file = stderr())
  quit(status = 1)
}
for (pkg in c("DESeq2", "glmGamPoi")) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    cat("R package", pkg, "is not installed (Debian: apt-get install r-bioc-deseq2 r-bioc-glmgampoi)\n",
        file = stderr())
    quit(status = 2)
  }
}
suppressPackageStartupMessages({library(DESeq2); library(glmGamPoi)})

counts_file <- args[1]; samples_file <- args[2]; design <- as.formula(args[3])
variable <- args[4]; tested <- args[5]; reference <- args[6]; out <- args[7]

counts <- read.delim(counts_file, check.names = FALSE, stringsAsFactors = FALSE)
rownames(counts) <- counts[[1]]
counts <- as.matrix(counts[, -1, drop = FALSE])
storage.mode(counts) <- "integer"
samples <- read.delim(samples_file, check.names = FALSE, stringsAsFactors = FALSE, colClasses = "character")
rownames(samples) <- samples$sample
samples <- samples[colnames(counts), , drop = FALSE]
for (v in all.vars(design)) {
  samples[[v]] <- factor(samples[[v]], levels = sort(unique(samples[[v]]), method = "radix"))
}

dds <- DESeqDataSetFromMatrix(counts, samples, design)
t0 <- proc.time()[["elapsed"]]
dds <- DESeq(dds, fitType = "glmGamPoi", quiet = TRUE)
res <- results(dds, contrast = c(variable, tested, reference), alpha = 0.05)
elapsed <- proc.time()[["elapsed"]] - t0

write.table(data.frame(gene_id = rownames(res), as.data.frame(res), check.names = FALSE), out, sep = "\t",
            quote = FALSE, row.names = FALSE, na = "NA")
meta <- data.frame(key = c("deseq2_version", "glmgampoi_version", "seconds"),
                   value = c(as.character(packageVersion("DESeq2")), as.character(packageVersion("glmGamPoi")),
                             format(elapsed)), stringsAsFactors = FALSE)
write.table(meta, paste0(out, ".meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
