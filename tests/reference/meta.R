# Reference results for mgsurv.stats.pooling (tests/test_pooling.py): pooling of log hazard
# ratios by metafor's rma() as fixed effect (method = "FE"), DerSimonian-Laird random effects
# (method = "DL") and REML random effects with the Hartung-Knapp-Sidik-Jonkman adjustment
# (method = "REML", test = "knha"), with Cochran's Q and I^2, predict()'s 95% prediction
# interval and confint()'s Q-profile 95% CIs of tau^2 and I^2.
#
# The REML tau^2 and the Q-profile bounds are iterative. "reml_knha" (and the DL fit's
# confint()) is computed to machine precision (Fisher scoring until a step is below 1e-14,
# uniroot to 1e-15) so the fixture is exact, and confint() searches tau^2 up to 1e6: by default
# it stops at max(100, 10 tau^2) and reports that limit as the bound (two_cohorts' upper
# bound, about 127). "reml_knha_default" is the REML fit with metafor's default controls
# (Fisher scoring stops once a step is below 1e-5, uniroot's tolerance is
# .Machine$double.eps^0.25, the search limit above), what a user of metafor gets. The fixed effect has no prediction interval or tau^2 CI (confint()
# refuses; predict() returns the CI): NA here.
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
  # Q below its 2.5% quantile: tau^2 (DL and REML) and both Q-profile bounds are 0.
  homogeneous = list(yi = c(0.40, 0.42, 0.38), sei = c(0.2, 0.25, 0.3)),
  two_cohorts = list(yi = c(0.30, -0.20), sei = c(0.15, 0.22)),
  # Q < k - 1: the REML (and DL) tau^2 is 0, the Q-profile upper bound is not.
  reml_tau2_zero = list(yi = c(0.21, 0.35, 0.10, 0.28, 0.45),
                        sei = c(0.12, 0.20, 0.15, 0.25, 0.30)),
  # I^2 above 90%: both Q-profile bounds are positive.
  strong_heterogeneity = list(yi = c(0.85, -0.30, 0.52, 1.20, 0.05, -0.45),
                              sei = c(0.14, 0.18, 0.10, 0.30, 0.12, 0.22)),
  # k - 1 < Q < its 97.5% quantile: tau^2 > 0 but the Q-profile lower bound is 0.
  qp_tau2_lower_zero = list(yi = c(0.10, 0.55, -0.05, 0.40, 0.30),
                            sei = c(0.15, 0.20, 0.18, 0.22, 0.25)),
  # Two local maxima of the REML likelihood: at 0 (the score is negative there) and, higher,
  # at tau^2 = 0.467, which metafor's Fisher scoring (started at the HE estimate) finds.
  reml_bimodal = list(yi = c(2.074, -0.060, -0.584, 0.012, -0.354, -0.104),
                      sei = c(0.559, 0.457, 0.477, 0.060, 0.442, 0.205)),
  # Local maxima at 0.0015 (the highest), about 0.34, and a lower one at 0. From its default
  # start (the HE estimate, 0.8) metafor reaches 0.34, finds the likelihood at 0 higher, and
  # sets tau^2 = 0 with a warning ("may have gotten stuck at a local maximum"); started at
  # tau2.init = 0.001 it finds the REML estimate, 0.0015.
  reml_local_maxima = list(yi = c(-2.145, 0.241, 0.141, 0.139, 0.201, 0.191, 0.815),
                           sei = c(0.555, 0.033, 0.036, 0.426, 0.068, 0.075, 0.422),
                           tau2_init = 0.001)
)

exact_fit <- list(threshold = 1e-14, maxiter = 10000)
exact_confint <- list(tol = 1e-15, maxiter = 10000, tau2.max = 1e6)

pooled <- function(fit, confint_control = exact_confint) {
  out <- list(estimate = as.numeric(fit$b), se = fit$se, lower = fit$ci.lb, upper = fit$ci.ub,
              z = fit$zval, p = fit$pval, q = fit$QE, q_df = fit$k - 1, q_p = fit$QEp,
              i2_percent = fit$I2, tau2 = fit$tau2, df = fit$ddf)
  if (fit$method == "FE") {
    return(c(out, pi_lower = NA, pi_upper = NA, i2_lower = NA, i2_upper = NA,
             tau2_lower = NA, tau2_upper = NA))
  }
  prediction <- predict(fit)
  qp <- confint(fit, control = confint_control)$random
  c(out, pi_lower = prediction$pi.lb, pi_upper = prediction$pi.ub,
    i2_lower = qp["I^2(%)", "ci.lb"], i2_upper = qp["I^2(%)", "ci.ub"],
    tau2_lower = qp["tau^2", "ci.lb"], tau2_upper = qp["tau^2", "ci.ub"])
}

out <- lapply(cases, function(case) {
  reml <- function(...) rma(yi = case$yi, sei = case$sei, method = "REML", test = "knha", ...)
  list(yi = case$yi, sei = case$sei,
       fixed = pooled(rma(yi = case$yi, sei = case$sei, method = "FE")),
       random = pooled(rma(yi = case$yi, sei = case$sei, method = "DL")),
       reml_knha = pooled(reml(control = c(exact_fit, tau2.init = case$tau2_init))),
       reml_knha_default = pooled(reml(), confint_control = list()))
})
out$versions <- list(R = R.version.string,
                     metafor = as.character(packageVersion("metafor")))
write_json(out, "tests/reference/fixtures/meta.json", digits = NA, auto_unbox = TRUE,
           na = "null", pretty = TRUE)
