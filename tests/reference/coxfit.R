# Reference results from R survival for mgsurv.stats.coxph_port (tests/test_coxph_port.py).
#
# Run by hand from the repository root when the datasets or the reported quantities change:
#   Rscript tests/reference/coxfit.R
# It writes tests/reference/data/coxfit_*.csv (design matrices built here with model.matrix, so
# that Python fits exactly the same X) and tests/reference/fixtures/coxfit_cases.json.
# R is not a test dependency: the data and fixtures are committed.
#
# Every fit is coxph(..., control = coxph.control(eps = 1e-12, toler.chol = 1e-15,
# iter.max = 100)) on the data as read back from the CSV (numbers written with 17 significant
# digits, so both sides see the same doubles), unless a case says otherwise.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

write_exact <- function(d, name) {
  out <- d
  for (column in names(out)) {
    if (is.double(out[[column]])) out[[column]] <- sprintf("%.17g", out[[column]])
  }
  write.csv(out, file.path(data_dir, paste0("coxfit_", name, ".csv")), row.names = FALSE,
            quote = FALSE)
  read.csv(file.path(data_dir, paste0("coxfit_", name, ".csv")))
}

# The design matrix of a formula without intercept, columns named syntactically.
design <- function(formula, d) {
  x <- model.matrix(formula, d)[, -1, drop = FALSE]
  colnames(x) <- make.names(colnames(x))
  as.data.frame(x)
}

# One case: the fit and everything tests/test_coxph_port.py compares.
run_case <- function(data_name, d, x_columns, strata = NULL, weights = NULL, time = "time",
                     status = "status", ties = "efron", eps = 1e-12, iter.max = 100,
                     toler.chol = 1e-15, timefix = TRUE, robust = FALSE) {
  rhs <- paste(sprintf("`%s`", x_columns), collapse = " + ")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", strata, ")")
  formula <- as.formula(sprintf("Surv(%s, %s) ~ %s", time, status, rhs))
  control <- coxph.control(eps = eps, toler.chol = toler.chol, iter.max = iter.max,
                           timefix = timefix)
  fit <- suppressWarnings(if (is.null(weights)) {
    coxph(formula, data = d, ties = ties, control = control, robust = robust)
  } else {
    d$.w <- d[[weights]]
    coxph(formula, data = d, ties = ties, control = control, robust = robust, weights = .w)
  })
  conc <- fit$concordance
  list(
    data = paste0("coxfit_", data_name, ".csv"), x = x_columns, time = time, status = status,
    strata = strata, weights = weights, ties = ties, eps = eps, iter_max = iter.max,
    toler_chol = toler.chol, timefix = timefix,
    coef = unname(coef(fit)), var = unname(fit$var), loglik = fit$loglik, score = fit$score,
    wald = fit$wald.test, iter = fit$iter, means = unname(fit$means), n = fit$n,
    nevent = fit$nevent,
    concordance = list(concordant = unname(conc["concordant"]),
                       discordant = unname(conc["discordant"]),
                       tied_x = unname(conc["tied.x"]), tied_y = unname(conc["tied.y"]),
                       tied_xy = unname(conc["tied.xy"]),
                       concordance = unname(conc["concordance"]))
  )
}

cases <- list()

# lung: complete cases of the model's variables; status recoded 0/1; sex as a 0/1 dummy.
lung0 <- survival::lung
lung0 <- lung0[complete.cases(lung0[, c("time", "status", "sex", "age", "ph.ecog")]), ]
lung0 <- data.frame(time = lung0$time, status = lung0$status - 1, female = lung0$sex - 1,
                    age = lung0$age, ph.ecog = lung0$ph.ecog,
                    sex = ifelse(lung0$sex == 2, "female", "male"))
lung <- write_exact(lung0, "lung")
lung_x <- c("female", "age", "ph.ecog")
cases$lung <- run_case("lung", lung, lung_x)
cases$lung_breslow <- run_case("lung", lung, lung_x, ties = "breslow")
cases$lung_strata_sex <- run_case("lung", lung, c("age", "ph.ecog"), strata = "sex")
# Out of iterations (R's flag 1000): the last accepted step, with its loglik and variance.
cases$lung_iter2 <- run_case("lung", lung, lung_x, iter.max = 2)
# R's default control (eps = 1e-9, toler.chol = eps^0.75, iter.max = 20).
cases$lung_default_control <- run_case("lung", lung, lung_x, eps = 1e-9, iter.max = 20,
                                       toler.chol = .Machine$double.eps^0.75)

# veteran: cell type as three dummies (reference squamous), tied times; and the same times
# nudged by 1e-10 (relative) on every 5th row, merged back into ties by R's timefix.
vet0 <- survival::veteran
vet0$celltype <- factor(vet0$celltype, levels = c("squamous", "smallcell", "adeno", "large"))
vet_x <- design(~ trt + celltype + karno + diagtime + age + prior, vet0)
vet0 <- cbind(data.frame(time = vet0$time, status = vet0$status,
                         time_near = vet0$time * ifelse(seq_len(nrow(vet0)) %% 5 == 0,
                                                        1 + 1e-10, 1),
                         celltype = as.character(vet0$celltype)), vet_x)
veteran <- write_exact(vet0, "veteran")
cases$veteran <- run_case("veteran", veteran, names(vet_x))
cases$veteran_timefix <- run_case("veteran", veteran, names(vet_x), time = "time_near")
cases$veteran_no_timefix <- run_case("veteran", veteran, names(vet_x), time = "time_near",
                                     timefix = FALSE)
cases$veteran_strata_celltype <- run_case("veteran", veteran, c("trt", "karno", "age"),
                                          strata = "celltype")

# Synthetic cohorts (n = 2000, 6 covariates: two correlated normals, a 0/1 dummy, a
# uniform, a 0-3 score and a -1/1 code (0/1 and -1/1 columns are not centred, as R's
# nocenter)), with a three-level stratum, integer and non-integer case weights.
synthetic <- function(n, seed, tied) {
  set.seed(seed)
  x1 <- round(rnorm(n), 6)
  x2 <- round(0.5 * x1 + rnorm(n), 6)
  x3 <- rbinom(n, 1, 0.4)
  x4 <- round(runif(n, 20, 80), 4)
  x5 <- sample(0:3, n, replace = TRUE)
  x6 <- sample(c(-1, 1), n, replace = TRUE)
  group <- sample(c("a", "b", "c"), n, replace = TRUE)
  lp <- 0.4 * x1 - 0.3 * x2 + 0.5 * x3 + 0.01 * x4 + 0.2 * x5 - 0.25 * x6 +
    c(a = 0, b = 0.3, c = -0.2)[group]
  event_time <- rexp(n, 0.05 * exp(lp - 0.7))
  censor_time <- runif(n, 5, 60)
  time <- pmin(event_time, censor_time)
  status <- as.integer(event_time <= censor_time)
  # tied: whole months (events and censorings share times); untied: 9 decimal places
  time <- if (tied) pmax(1, ceiling(time)) else round(time, 9)
  data.frame(time = time, status = status, x1 = x1, x2 = x2, x3 = x3, x4 = x4, x5 = x5,
             x6 = x6, x7 = x1 + 2 * x3, group = group, w_int = sample(1:3, n, replace = TRUE),
             w_frac = round(runif(n, 0.5, 2), 4), set = floor((seq_len(n) - 1) / 1.9))
}
syn_x <- paste0("x", 1:6)
untied <- write_exact(synthetic(2000, 20240611, tied = FALSE), "untied")
stopifnot(!anyDuplicated(untied$time))
tied <- write_exact(synthetic(2000, 20240612, tied = TRUE), "tied")
stopifnot(length(unique(tied$time)) < 70)
cases$untied <- run_case("untied", untied, syn_x)
cases$untied_strata <- run_case("untied", untied, syn_x, strata = "group")
cases$untied_weights_int <- run_case("untied", untied, syn_x, weights = "w_int")
cases$tied <- run_case("tied", tied, syn_x)
cases$tied_breslow <- run_case("tied", tied, syn_x, ties = "breslow")
cases$tied_strata <- run_case("tied", tied, syn_x, strata = "group")
cases$tied_weights_int <- run_case("tied", tied, syn_x, weights = "w_int")
# Non-integer weights: R's coxph would switch to the robust (sandwich) variance; the
# model-based one (fit$naive.var) is what mgsurv.stats.coxph_port returns, so robust = FALSE here.
cases$tied_weights_frac <- run_case("tied", tied, syn_x, weights = "w_frac")
cases$tied_strata_weights_frac <- run_case("tied", tied, syn_x, strata = "group",
                                           weights = "w_frac")
# More strata (1053, of one or two rows) than mgsurv.stats.coxph_port sums stratum by stratum.
cases$tied_many_strata <- run_case("tied", tied, syn_x, strata = "set")
# Discrete covariates only: many ties in the risk score (concordance's tied.x, tied.xy).
cases$tied_discrete <- run_case("tied", tied, c("x3", "x5", "x6"))
# x7 = x1 + 2 * x3 is aliased: R reports an NA coefficient and zero variance row/column.
# (R's default toler.chol: at 1e-15 rounding noise can keep an aliased column in.)
cases$untied_aliased <- run_case("untied", untied, c(syn_x, "x7"), eps = 1e-10,
                                 toler.chol = .Machine$double.eps^0.75)
cases$tied_aliased_middle <- run_case("tied", tied, c("x1", "x7", "x3", "x4"),
                                      eps = 1e-10, toler.chol = .Machine$double.eps^0.75)

write_json(list(versions = versions, cases = cases),
           file.path(out_dir, "coxfit_cases.json"), digits = NA, auto_unbox = TRUE,
           na = "null", null = "null", pretty = TRUE)
