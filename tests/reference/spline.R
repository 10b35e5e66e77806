# Reference results for mgsurv.stats.spline (tests/test_spline.py): serum Mg (or another continuous
# variable) as a restricted cubic spline in a Cox model, as rms fits it.
#
# Run from the repository root when the datasets or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-rms r-cran-jsonlite
#   Rscript tests/reference/spline.R
# Writes tests/reference/fixtures/spline_*.json. R is not a test dependency.
#
# Knots: Hmisc::rcspline.eval's default placement (what rms::rcs uses), on ordinary data and
# on vectors built to take each of its special paths. Models: rms::cph with rcs(x, 4) and
# Predict(ref.zero = TRUE) for the HR curve; the same model through coxph on the
# rcspline.eval basis for coefficients and log-likelihoods (checked equal to cph here); the
# likelihood-ratio test of non-linearity from the two coxph log-likelihoods.

suppressPackageStartupMessages({
  library(survival)
  library(rms)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
control <- coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100)

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             na = "null", pretty = TRUE)
}

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 rms = as.character(packageVersion("rms")),
                 Hmisc = as.character(packageVersion("Hmisc")))

# Knots and basis of rcspline.eval(x, nk), recording its warnings; error = TRUE where it stops.
knot_case <- function(x, nk) {
  warned <- character(0)
  printed <- capture.output(knots <- tryCatch(
    withCallingHandlers(rcspline.eval(x, nk = nk, knots.only = TRUE),
                        warning = function(w) {
                          warned <<- c(warned, conditionMessage(w))
                          invokeRestart("muffleWarning")
                        }),
    error = function(e) NULL))
  if (is.null(knots)) return(list(x = x, nk = nk, error = TRUE))
  basis <- rcspline.eval(x, knots = knots, inclx = TRUE)
  by_rms <- suppressWarnings(rcs(x, nk))
  stopifnot(identical(as.vector(unclass(by_rms)), as.vector(basis)))
  list(x = x, nk = nk, error = FALSE, warned = length(warned) > 0, knots = unname(knots),
       basis = unname(basis[, ]))
}

set.seed(20261125)
uniform <- round(runif(160), 3)
knot_cases <- list(
  small_n = knot_case(round(rnorm(50, 0.8, 0.1), 3), 4),
  tied_minimum = knot_case(c(rep(0.5, 30), round(runif(270, 0.5, 1.2), 3)), 4),
  tied_both_ends = knot_case(c(rep(0, 20), rep(1, 20), uniform), 4),
  tied_both_ends_3 = knot_case(c(rep(0, 20), rep(1, 20), uniform), 3),
  tied_both_ends_small_5 = knot_case(c(rep(0, 10), rep(1, 10), round(runif(70), 3)), 5),
  few_distinct = knot_case(rep(1:6, 10), 4),
  alternate = knot_case(c(rep(1, 70), rep(2, 25), 3:7), 4),
  alternate_small = knot_case(c(rep(1, 69), rep(2, 25), 3:7), 4),
  alternate_tied_ends = knot_case(c(rep(0, 400), 1, rep(2, 40), 3, 4, 5, rep(6, 400)), 4),
  alternate_tied_first_error = knot_case(c(rep(0, 800), 1, rep(2, 40), 3, 4, 5, 6), 4),
  seven_knots = knot_case(round(rexp(300), 2), 7),
  too_few_obs_error = knot_case(c(0.7, 0.8, 0.9, 1.0, 1.1), 4)
)
save(list(versions = versions, cases = knot_cases), "spline_knots")

# One spline model: column x (named `label`) in rcs(x, 4) plus the adjustment terms of
# `adjust` (a formula tail); HR against `reference` over 100 points from the 1st to the 99th
# percentile (plus the reference); linear HR per `per` units. `adjust_names` are mgsurv's
# design column names. As in cph, the knots (and here the grid) use every non-missing x and
# the models the complete cases.
spline_case <- function(d, x, label, reference, per, adjust = NULL,
                        adjust_names = character(0)) {
  d$x <- d[[x]]
  basis <- rcspline.eval(d$x, nk = 4, inclx = TRUE)
  knots <- attr(basis, "knots")
  q <- quantile(d$x, c(0.01, 0.99), type = 7, na.rm = TRUE)
  grid <- sort(unique(c(seq(q[[1]], q[[2]], length.out = 100), reference)))
  d$b1 <- basis[, 1]; d$b2 <- basis[, 2]; d$b3 <- basis[, 3]
  d$x_per <- d$x / per
  tail <- if (is.null(adjust)) "" else paste("+", as.character(adjust)[2])
  spline <- coxph(as.formula(paste("Surv(time, status) ~ b1 + b2 + b3", tail)), data = d,
                  control = control)
  linear <- coxph(as.formula(paste("Surv(time, status) ~ x_per", tail)), data = d,
                  control = control)

  dd <- datadist(d)
  dd$limits["Adjust to", "x"] <- reference
  assign("dd", dd, envir = globalenv())
  options(datadist = "dd")
  rms_fit <- cph(as.formula(paste("Surv(time, status) ~ rcs(x, 4)", tail)), data = d,
                 eps = 1e-12, tol = 1e-15, iter.max = 100)
  stopifnot(isTRUE(all.equal(unname(coef(rms_fit)), unname(coef(spline)), tolerance = 1e-12)))
  stopifnot(identical(unname(rms_fit$Design$parms$x), unname(knots)))
  stopifnot(rms_fit$stats[["Obs"]] == spline$n)

  pred <- Predict(rms_fit, x = grid, ref.zero = TRUE, fun = exp, conf.int = 0.95)
  contrast <- rcspline.eval(grid, knots = knots, inclx = TRUE) -
    matrix(rcspline.eval(reference, knots = knots, inclx = TRUE), length(grid), 3, byrow = TRUE)
  log_hr <- drop(contrast %*% coef(spline)[1:3])
  se <- sqrt(rowSums((contrast %*% vcov(spline)[1:3, 1:3]) * contrast))
  stopifnot(isTRUE(all.equal(pred$yhat, exp(log_hr), tolerance = 1e-12)))
  stopifnot(isTRUE(all.equal(pred$lower, exp(log_hr - qnorm(0.975) * se), tolerance = 1e-12)))

  s <- summary(spline)$coefficients
  l <- summary(linear)$coefficients
  ci <- exp(confint(linear))
  lr <- 2 * (spline$loglik[2] - linear$loglik[2])
  list(
    label = label, knots = unname(knots), n = spline$n, events = spline$nevent,
    coefficients = list(term = c(label, paste0(label, c("'", "''")), adjust_names),
                        coef = unname(s[, "coef"]),
                        se = unname(s[, "se(coef)"]), hr = unname(s[, "exp(coef)"]),
                        z = unname(s[, "z"]), p = unname(s[, "Pr(>|z|)"])),
    loglik_spline = spline$loglik[2], loglik_linear = linear$loglik[2],
    lr_statistic = lr, lr_df = 2, lr_p = pchisq(lr, 2, lower.tail = FALSE),
    per = per, reference = reference,
    linear = list(coef = unname(l[1, "coef"]), se = unname(l[1, "se(coef)"]),
                  hr = unname(l[1, "exp(coef)"]), hr_lower = unname(ci[1, 1]),
                  hr_upper = unname(ci[1, 2]), z = unname(l[1, "z"]),
                  p = unname(l[1, "Pr(>|z|)"])),
    curve = list(x = grid, log_hr = log_hr, se = se, hr = pred$yhat, hr_lower = pred$lower,
                 hr_upper = pred$upper)
  )
}

read_synthetic <- function(file, endpoint) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  d$time <- d[[paste0(endpoint, "_months")]]
  d$status <- d[[paste0(endpoint, "_event")]]
  d$sex <- factor(d$sex, levels = c("male", "female"))
  d$ecog <- factor(d$ecog, levels = c(0, 1))
  d$arm <- factor(d$arm, levels = c("chemotherapy", "immunotherapy"))
  d
}
adjust <- ~ age + sex + ecog + arm
adjust_names <- c("age", "sex[female vs male]", "ecog[1 vs 0]",
                  "arm[immunotherapy vs chemotherapy]")
for (endpoint in c("os", "pfs")) {
  d <- read_synthetic("synthetic_400.csv", endpoint)
  save(list(versions = versions,
            unadjusted = spline_case(d, "mg_mmol_l", "mg", 0.85, 0.1),
            adjusted = spline_case(d, "mg_mmol_l", "mg", 0.85, 0.1, adjust, adjust_names)),
       paste0("spline_synthetic_400_", endpoint))
}
save(list(versions = versions,
          unadjusted = spline_case(read_synthetic("synthetic_untied_300.csv", "os"),
                                   "mg_mmol_l", "mg", 0.85, 0.1)),
     "spline_synthetic_untied_300_os")

# lung: age (years) as the spline variable, reference 60 years, linear HR per 10 years;
# adjusted for sex and ph.ecog (one missing: knots on 228 ages, models on 227 patients).
lung <- read.csv(file.path(data_dir, "lung.csv"))
lung$sex <- factor(lung$sex, levels = c(1, 2))
save(list(versions = versions,
          unadjusted = spline_case(lung, "age", "age", 60, 10),
          adjusted = spline_case(lung, "age", "age", 60, 10, ~ sex + ph.ecog,
                                 c("sex[2 vs 1]", "ph.ecog"))),
     "spline_lung_age")
