#!/usr/bin/env Rscript
# The R values that tests/test_rcompat.py has inline (R_* constants), recomputed by R from the same
# inputs: tests/test_rcompat_vs_r.py (full tier, marker `fidelity`) writes the inputs of
# test_rcompat.py to INPUTS.tsv, runs this script and compares every value with the inline one.
#
# Usage: Rscript tests/data/rcompat/expected.R INPUTS.tsv OUT.tsv
#   INPUTS.tsv  long format, columns name, value: NUMREJ, X2, Y2, X3, Y3, P_BH (NA allowed), Q, Q_PROBS
#               (one row per element) and SMALL_COUNTS (one row: "s1,...,s6;s1,...;..." per gene)
#   OUT.tsv     long format, columns name, i, value (sprintf %.17g): the R_* values of test_rcompat.py
# Needs DESeq2 and locfit (Debian r-bioc-deseq2, which brings r-cran-locfit). Exit 2 when missing.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) {
  cat("usage: Rscript expected.R INPUTS.tsv OUT.tsv\n", file = stderr())
  quit(status = 1)
}
for (pkg in c("DESeq2", "locfit")) {
  if (!requireNamespace(pkg, quietly = TRUE)) {
    cat("R package", pkg, "is not installed (Debian: apt-get install r-bioc-deseq2)\n", file = stderr())
    quit(status = 2)
  }
}
suppressPackageStartupMessages({ library(DESeq2); library(locfit) })
inp <- read.delim(args[1], colClasses = "character", na.strings = "NA")
get <- function(name) as.numeric(inp$value[inp$name == name])
out <- list()
put <- function(name, x) out[[name]] <<- as.numeric(x)

# lowess (R stats' clowess)
theta <- seq(0, 0.95, length = 50)
put("R_LOWESS1", lowess(theta, get("NUMREJ"), f = 1 / 5)$y)
put("R_LOWESS2", lowess(get("X2"), get("Y2"))$y)
l3 <- lowess(get("X3"), get("Y3"), f = 0.5)
put("R_LOWESS3_X", l3$x)
put("R_LOWESS3_Y", l3$y)

# p.adjust BH with NA, quantile type 7
put("R_BH", p.adjust(get("P_BH"), "BH"))
put("R_QUANT", unname(quantile(get("Q"), get("Q_PROBS"))))

# DESeq2's independent filtering
i <- 1:300
bm <- exp(((i * 37) %% 300) / 30)
p <- ((i * 53) %% 301) / 301
strong <- bm > exp(6) & (i %% 3 != 0)
p[strong] <- p[strong] * 0.02
p[i %% 41 == 0] <- NA
res <- DESeq2:::pvalueAdjustment(DESeqResults(DataFrame(baseMean = bm, pvalue = p)),
                                 independentFiltering = TRUE, alpha = 0.05, pAdjustMethod = "BH")
put("R_IF_THRESHOLD", metadata(res)$filterThreshold)
put("R_IF_THETA", metadata(res)$filterTheta)
put("R_IF_NUMREJ", metadata(res)$filterNumRej$numRej)
put("R_IF_PADJ", res$padj)

# two small complete DESeq fits
rows <- strsplit(strsplit(inp$value[inp$name == "SMALL_COUNTS"], ";")[[1]], ",")
counts <- do.call(rbind, lapply(rows, as.integer))
rownames(counts) <- paste0("g", seq_len(nrow(counts)))
colnames(counts) <- paste0("s", 1:6)
samples <- data.frame(condition = factor(c("A", "A", "A", "B", "B", "B")),
                      batch = factor(c("b1", "b1", "b2", "b1", "b2", "b2")), row.names = colnames(counts))
for (tag in c("CONDITION", "BATCHCONDITION")) {
  design <- if (tag == "CONDITION") ~condition else ~batch + condition
  dds <- DESeq(DESeqDataSetFromMatrix(counts, samples, design), quiet = TRUE)
  r <- results(dds, contrast = c("condition", "B", "A"), alpha = 0.05)
  fn <- dispersionFunction(dds)
  put(paste0("R_", tag, "_TREND"), unname(attr(fn, "coefficients")))
  put(paste0("R_", tag, "_PRIOR_VAR"), attr(fn, "dispPriorVar"))
  put(paste0("R_", tag, "_DISPERSION"), dispersions(dds))
  put(paste0("R_", tag, "_LFC"), r$log2FoldChange)
  put(paste0("R_", tag, "_PVALUE"), r$pvalue)
  put(paste0("R_", tag, "_PADJ"), r$padj)
}

# locfit as DESeq2's localDispersionFit uses it; loess with surface = "interpolate"
i <- 1:60
x <- log(2 + ((i * 37) %% 60) * 3.1)
y <- log(0.05 + 2 / exp(x)) + sin(i * 1.7) * 0.4
fit <- locfit(y ~ x, data = data.frame(x = x, y = y), weights = exp(x))
put("R_LOCFIT_PRED", predict(fit, data.frame(x = c(0.2, min(x), 1.5, 2.2, 3.0, 3.7, 4.4, 5.0, max(x), 6.3))))
put("R_LOCFIT_KNOTS", sort(lfknots(fit)[, "x"]))
g <- seq(0, 8, length = 200)
yy <- (g - 2.3)^2 / 10 + sin(g * 3) / 7
put("R_LOESS_PRED", predict(loess(yy ~ g, span = 0.2), seq(0, 8, length = 25)))

long <- do.call(rbind, lapply(names(out), function(n) {
  data.frame(name = n, i = seq_along(out[[n]]), value = ifelse(is.na(out[[n]]), "NA", sprintf("%.17g", out[[n]])))
}))
write.table(long, args[2], sep = "\t", quote = FALSE, row.names = FALSE)
