#!/usr/bin/env Rscript
# Reference for tools/camera_vs_r.py: limma::camera on exactly the matrix, design, contrast and
# gene sets that pathverdict.enrichment.camera is given.
#
# Usage: Rscript camera_reference.R EXPR.tsv DESIGN.tsv CONTRAST.tsv SETS.tsv OUT_PREFIX
#   EXPR.tsv      genes x samples (first column: gene), the log-expression camera tests
#   DESIGN.tsv    samples x coefficients (first column: sample, in the order of EXPR's columns)
#   CONTRAST.tsv  one column `contrast`, one value per design column
#   SETS.tsv      long format: columns term, gene (genes already reduced to EXPR's genes)
# Writes OUT_PREFIX.fixed.tsv (inter.gene.cor = 0.01, limma's default), OUT_PREFIX.estimated.tsv
# (inter.gene.cor = NA: estimated per set) and OUT_PREFIX.meta.tsv (limma version, seconds).
# Exit status 2 when limma is not installed.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 5) {
  cat("usage: Rscript camera_reference.R EXPR.tsv DESIGN.tsv CONTRAST.tsv SETS.tsv OUT_PREFIX\n", file = stderr())
  quit(status = 1)
}
if (!suppressWarnings(suppressMessages(requireNamespace("limma", quietly = TRUE)))) {
  cat("the R package limma is not installed (Debian: apt-get install r-bioc-limma)\n", file = stderr())
  quit(status = 2)
}
expr <- read.delim(args[1], check.names = FALSE, colClasses = c("character"), row.names = 1,
                   na.strings = character(0), quote = "")
expr <- as.matrix(expr)
storage.mode(expr) <- "double"
design <- read.delim(args[2], check.names = FALSE, row.names = 1, quote = "")
design <- as.matrix(design)
stopifnot(identical(rownames(design), colnames(expr)))
contrast <- read.delim(args[3])$contrast
sets <- read.delim(args[4], colClasses = "character", na.strings = character(0), quote = "")
index <- split(sets$gene, factor(sets$term, levels = unique(sets$term)))
t0 <- proc.time()[["elapsed"]]
fixed <- limma::camera(expr, index, design = design, contrast = contrast, inter.gene.cor = 0.01, sort = FALSE)
estimated <- limma::camera(expr, index, design = design, contrast = contrast, inter.gene.cor = NA, sort = FALSE)
secs <- proc.time()[["elapsed"]] - t0
write_tab <- function(tab, path) {
  out <- data.frame(term = rownames(tab), tab, check.names = FALSE, stringsAsFactors = FALSE)
  write.table(out, path, sep = "\t", quote = FALSE, row.names = FALSE)
}
write_tab(fixed, paste0(args[5], ".fixed.tsv"))
write_tab(estimated, paste0(args[5], ".estimated.tsv"))
meta <- data.frame(key = c("limma_version", "R_version", "seconds"),
                   value = c(as.character(packageVersion("limma")), R.version$version.string, secs))
write.table(meta, paste0(args[5], ".meta.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
