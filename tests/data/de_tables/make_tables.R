#!/usr/bin/env Rscript
# The DE tables papers publish, made by R from the four real count sets of ../shared/data, for
# tests/test_de_tables.py (README.md in this folder says what each file is and why).
#
# Usage (from the repository root; needs r-bioc-deseq2, r-bioc-edger, r-bioc-limma):
#   Rscript tests/data/de_tables/make_tables.R ../shared/data tests/data/de_tables
#
# Each table is written exactly as an author would write it, then gzipped by this script
# without a timestamp (gzip -n), so reruns give byte-identical files when R gives the same numbers.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) {
  cat("usage: make_tables.R SHARED_DATA OUT_DIR\n", file = stderr())
  quit(status = 1)
}
shared <- args[1]
out <- args[2]
suppressPackageStartupMessages({
  library(DESeq2)
  library(edgeR)
  library(limma)
})

read_set <- function(name) {
  counts <- read.delim(file.path(shared, "counts", name, "counts.tsv.gz"), check.names = FALSE,
                       stringsAsFactors = FALSE)
  rownames(counts) <- counts[[1]]
  counts <- as.matrix(counts[, -1, drop = FALSE])
  storage.mode(counts) <- "integer"
  samples <- read.delim(file.path(shared, "counts", name, "samples.tsv"), check.names = FALSE,
                        stringsAsFactors = FALSE, colClasses = "character")
  rownames(samples) <- samples$sample
  samples <- samples[colnames(counts), , drop = FALSE]
  list(counts = counts, samples = samples)
}

# factor levels in C-locale order, as the workflow's design matrix (and tools/deseq2_reference.R)
as_factors <- function(samples, vars) {
  for (v in vars) samples[[v]] <- factor(samples[[v]], levels = sort(unique(samples[[v]]), method = "radix"))
  samples
}

gzip_file <- function(path) {
  system2("gzip", c("-n", "-9", "-f", shQuote(path)))
}

# DESeq2, R's defaults, the workflow's contrast and alpha (de.alpha = 0.05: results()'s independent
# filtering uses it), written as the DESeq2 vignette does: write.csv(as.data.frame(res))
sets <- list(
  li2008_lncap = list(design = ~condition, contrast = c("condition", "Treated", "Control")),
  sultan2008_hek293t = list(design = ~cell, contrast = c("cell", "HEK293T", "Ramos_B_cell")),
  marioni2008_kidney_liver = list(design = ~run + Tissue, contrast = c("Tissue", "Liver", "Kidney")),
  geuvadis_lcl_sex = list(design = ~sex, contrast = c("sex", "Male", "Female"))
)
for (name in names(sets)) {
  s <- read_set(name)
  spec <- sets[[name]]
  samples <- as_factors(s$samples, all.vars(spec$design))
  dds <- DESeqDataSetFromMatrix(s$counts, samples, spec$design)
  dds <- DESeq(dds, quiet = TRUE)
  res <- results(dds, contrast = spec$contrast, alpha = 0.05)
  path <- file.path(out, paste0("deseq2_", name, ".csv"))
  write.csv(as.data.frame(res), file = path)
  gzip_file(path)
}

# edgeR quasi-likelihood F test (the edgeR user's guide), LNCaP DHT vs control: topTags(n = Inf) with
# logFC, logCPM, F, PValue, FDR, written with write.csv
s <- read_set("li2008_lncap")
group <- factor(s$samples$condition, levels = c("Control", "Treated"))
y <- DGEList(s$counts, group = group)
keep <- filterByExpr(y)
y <- calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
design <- model.matrix(~group)
y <- estimateDisp(y, design)
fit <- glmQLFit(y, design)
path <- file.path(out, "edger_ql_li2008_lncap.csv")
write.csv(topTags(glmQLFTest(fit, coef = 2), n = Inf)$table, file = path)
gzip_file(path)

# edgeR likelihood-ratio test with a batch term, liver vs kidney: logFC, logCPM, LR, PValue, FDR, written
# with write.table(sep = "\t", quote = FALSE): the header has one field fewer than the rows (no cell for
# the row names)
s <- read_set("marioni2008_kidney_liver")
samples <- as_factors(s$samples, c("Tissue", "run"))
y <- DGEList(s$counts)
keep <- filterByExpr(y, group = samples$Tissue)
y <- calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
design <- model.matrix(~run + Tissue, data = samples)
y <- estimateDisp(y, design)
fit <- glmFit(y, design)
path <- file.path(out, "edger_lrt_marioni2008_kidney_liver.tsv")
write.table(topTags(glmLRT(fit, coef = "TissueLiver"), n = Inf)$table, file = path, sep = "\t", quote = FALSE)
gzip_file(path)

# limma-voom (the limma user's guide), males vs females in 85 LCLs: topTable(number = Inf) with logFC,
# AveExpr, t, P.Value, adj.P.Val, B, written with write.table(sep = "\t", quote = FALSE)
s <- read_set("geuvadis_lcl_sex")
samples <- as_factors(s$samples, "sex")
y <- DGEList(s$counts)
keep <- filterByExpr(y, group = samples$sex)
y <- calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
design <- model.matrix(~sex, data = samples)
v <- voom(y, design)
fit <- eBayes(lmFit(v, design))
path <- file.path(out, "limma_voom_geuvadis_lcl_sex.tsv")
write.table(topTable(fit, coef = "sexMale", number = Inf), file = path, sep = "\t", quote = FALSE)
gzip_file(path)

versions <- data.frame(
  package = c("R", "DESeq2", "edgeR", "limma"),
  version = c(R.version$version.string, as.character(packageVersion("DESeq2")),
              as.character(packageVersion("edgeR")), as.character(packageVersion("limma")))
)
write.table(versions, file.path(out, "versions.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
