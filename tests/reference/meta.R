# Reference results for mgsurv.stats.pooling (tests/test_pooling.py): fixed-effect and
# DerSimonian-Laird pooling of log hazard ratios with Cochran's Q and I^2, as metafor.
#
# Needs Debian's r-base-core, r-cran-metafor, r-cran-jsonlite. Run from the repository root:
#   Rscript tests/reference/meta.R
# Writes tests/reference/fixtures/meta.json (committed; R is not a test dependency).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

cases <- list(
  heterogeneous = list(yi = c(0.47, 0.05, 0.62, -0.10), sei = c(0.11, 0.13, 0.25, 0.18)),
  homogeneous = list(yi = c(0.40, 0.42, 0.38), sei = c(0.2, 0.25, 0.3)),
  two_cohorts = list(yi = c(0.30, -0.20), sei = c(0.15, 0.22))
)

pooled <- function(fit) {
  list(estimate = as.numeric(fit$b), se = fit$se, lower = fit$ci.lb, upper = fit$ci.ub,
       z = fit$zval, p = fit$pval, q = fit$QE, q_df = fit$k - 1, q_p = fit$QEp,
       i2_percent = fit$I2, tau2 = fit$tau2)
}

out <- lapply(cases, function(case) {
  list(yi = case$yi, sei = case$sei,
       fixed = pooled(rma(yi = case$yi, sei = case$sei, method = "FE")),
       random = pooled(rma(yi = case$yi, sei = case$sei, method = "DL")))
})
out$versions <- list(R = R.version.string,
                     metafor = as.character(packageVersion("metafor")))
write_json(out, "tests/reference/fixtures/meta.json", digits = NA, auto_unbox = TRUE,
           na = "null", pretty = TRUE)
