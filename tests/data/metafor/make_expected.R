# What R metafor computes for the stored meta-analysis cases (tests/test_meta_analysis.py compares
# pathverdict.judgement.meta_analysis with it). Run from the repository root:
#   Rscript tests/data/metafor/make_expected.R [OUTDIR]     (default: tests/data/metafor)
# Writes OUTDIR/cases.tsv (the inputs: case, study, yi, sei), OUTDIR/expected.tsv (rma(yi, sei = sei,
# method = "REML") per case, with metafor's default stopping threshold 1e-5 and a tight 1e-10),
# OUTDIR/leave1out.tsv (leave1out() of the default fits) and OUTDIR/versions.tsv.
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "tests/data/metafor"
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

cases <- list()
add <- function(name, yi, sei) cases[[name]] <<- list(yi = yi, sei = sei)

# metafor's own example: BCG vaccine trials (metadat dat.bcg), log risk ratios, 13 studies
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg", as.numeric(bcg$yi), sqrt(as.numeric(bcg$vi)))
# tau2 at the boundary 0: the estimates vary less than their standard errors say (HE start < 0)
add("boundary_tau2_zero", c(0.10, 0.12, 0.08, 0.11, 0.09), c(0.20, 0.25, 0.30, 0.22, 0.28))
# just above the boundary: a little heterogeneity
add("near_boundary", c(0.10, 0.45, -0.05, 0.30, 0.20), c(0.15, 0.15, 0.15, 0.15, 0.15))
# k = 2, disagreeing and agreeing
add("k2", c(0.5, 1.3), c(0.2, 0.3))
add("k2_agree", c(0.50, 0.55), c(0.2, 0.3))
# one study with a huge variance (it must get almost no weight)
add("huge_variance", c(0.3, 0.5, 0.4, 5.0), c(0.10, 0.12, 0.15, 50))
# strong heterogeneity (I2 > 95%)
add("strong_heterogeneity", c(-1.2, 0.1, 1.5, 3.0, 0.4, 2.2), c(0.10, 0.15, 0.12, 0.20, 0.10, 0.18))
# the scale of the workflow's pathway effects (excess mean squared standardised log fold change)
add("pathway_scale", c(14.2, 9.8, 3.1, 22.5), c(2.1, 1.6, 1.2, 6.0))
# very unequal standard errors with one negative estimate
add("unequal_se", c(-0.8, 0.2, 0.3, 0.25, 1.9), c(0.9, 0.05, 0.08, 0.06, 1.5))
# Fisher scoring crawls to a maximum at tau2 = 0 and does not converge in metafor's 100 steps (rma() stops
# with an error); fitted with the remedy of help(rma): a halved step (stepadj = 0.5) and more iterations
add("crawl_to_zero", c(1.4, 0.5, 3.9), c(0.6, 1.0, 1.5))
remedy <- list(crawl_to_zero = list(stepadj = 0.5, maxiter = 100000))
# many studies drawn from a random-effects model (seeded)
set.seed(2019)
k <- 30
sei <- runif(k, 0.05, 1)
add("k30", rnorm(k, 0.3, sqrt(0.04 + sei^2)), sei)

num <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
fit <- function(yi, sei, threshold, extra = list()) {
  control <- c(list(threshold = threshold), extra)
  log <- capture.output(res <- rma(yi, sei = sei, method = "REML", verbose = TRUE, control = control))
  conv <- grep("converged after", log, value = TRUE)
  iter <- if (length(conv)) as.integer(sub(".*after ([0-9]+) iterations.*", "\\1", conv[1])) else NA
  list(res = res, iter = iter)
}

inputs <- do.call(rbind, lapply(names(cases), function(n) data.frame(
  case = n, study = seq_along(cases[[n]]$yi), yi = num(cases[[n]]$yi), sei = num(cases[[n]]$sei))))
write.table(inputs, file.path(outdir, "cases.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)

rows <- list()
loo <- list()
for (n in names(cases)) {
  extra <- if (is.null(remedy[[n]])) list() else remedy[[n]]
  if (length(extra)) {
    # the default call fails here: record it, fit with the remedy at the tight threshold only
    failed <- inherits(try(rma(cases[[n]]$yi, sei = cases[[n]]$sei, method = "REML"), silent = TRUE), "try-error")
    stopifnot(failed)
  }
  for (threshold in if (length(extra)) 1e-10 else c(1e-5, 1e-10)) {
    f <- fit(cases[[n]]$yi, cases[[n]]$sei, threshold, extra)
    r <- f$res
    p <- predict(r)
    rows[[length(rows) + 1]] <- data.frame(
      case = n, threshold = num(threshold), k = r$k, estimate = num(r$b[1]), se = num(r$se), zval = num(r$zval),
      pval = num(r$pval), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2), se_tau2 = num(r$se.tau2),
      I2 = num(r$I2), H2 = num(r$H2), QE = num(r$QE), QEp = num(r$QEp), pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub),
      iterations = f$iter,
      control = if (length(extra)) paste(names(extra), unlist(extra), sep = "=", collapse = ",") else "default")
    if (threshold == 1e-5 && !length(extra)) {
      l <- leave1out(r)
      loo[[length(loo) + 1]] <- data.frame(
        case = n, omitted = seq_along(l$estimate), estimate = num(l$estimate), se = num(l$se), ci_lb = num(l$ci.lb),
        ci_ub = num(l$ci.ub), tau2 = num(l$tau2), I2 = num(l$I2), QE = num(l$Q))
    }
  }
}
write.table(do.call(rbind, rows), file.path(outdir, "expected.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
write.table(do.call(rbind, loo), file.path(outdir, "leave1out.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
versions <- data.frame(
  what = c("R", "metafor", "metadat"),
  version = c(R.version.string, as.character(packageVersion("metafor")), as.character(packageVersion("metadat"))))
write.table(versions, file.path(outdir, "versions.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
