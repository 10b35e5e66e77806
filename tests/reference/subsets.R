# Reference results for the survival tables' arm subsets (tests/test_r_parity.py): within each
# arm of synthetic_400, the Kaplan-Meier curves, medians, landmarks and median follow-up
# (survfit, log-log band; a landmark past the follow-up is dropped, as summary.survfit does),
# the log-rank tests (survdiff) and the RMST per clinical Mg group at
# survRM2's default tau, for the clinical Mg groups and the quartiles.
#
# Run by hand from the repository root when the dataset or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/subsets.R
# It reads tests/reference/data/synthetic_400.csv and writes
# tests/reference/fixtures/subsets_synthetic_400.json. R is not a test dependency.
#
# The Mg groups are made as mgsurv's prepare makes them, on the whole cohort (threshold 0.70
# mmol/L; type-7 quartiles of all patients, closed on the right), and the arm's patients are
# taken afterwards: a quartile of an arm is the cohort's quartile, not the arm's.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
source("tests/reference/survrm2_formulas.R")

syn <- read.csv(file.path(data_dir, "synthetic_400.csv"), stringsAsFactors = FALSE)
syn$mg_clinical <- ifelse(syn$mg_mmol_l < 0.70, "low", "normal")
q <- quantile(syn$mg_mmol_l, c(0.25, 0.5, 0.75), type = 7)
syn$mg_quartile <- as.character(cut(syn$mg_mmol_l, c(-Inf, q, Inf),
                                    labels = c("Q1", "Q2", "Q3", "Q4"), right = TRUE))
orders <- list(mg_clinical = c("normal", "low"), mg_quartile = c("Q1", "Q2", "Q3", "Q4"))

km_group <- function(time, status) {
  fit <- survfit(Surv(time, status) ~ 1, conf.type = "log-log")
  m <- quantile(fit, 0.5)
  at <- summary(fit, times = c(6, 12, 24))
  list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
       surv = fit$surv, lower = fit$lower, upper = fit$upper,
       median = unname(m$quantile), median_lower = unname(m$lower),
       median_upper = unname(m$upper),
       landmarks = list(time = at$time, surv = at$surv, lower = at$lower, upper = at$upper))
}

reverse_median <- function(time, status) {
  m <- quantile(survfit(Surv(time, 1 - status) ~ 1, conf.type = "log-log"), 0.5)
  list(median = unname(m$quantile), lower = unname(m$lower), upper = unname(m$upper))
}

subset_fixture <- function(d, endpoint) {
  time <- d[[paste0(endpoint, "_months")]]
  status <- d[[paste0(endpoint, "_event")]]
  groupings <- lapply(names(orders), function(grouping) {
    group <- d[[grouping]]
    order <- orders[[grouping]][orders[[grouping]] %in% group]
    test <- survdiff(Surv(time, status) ~ factor(group, levels = order))
    df <- length(order) - 1
    km <- lapply(order, function(g) c(list(group = g), km_group(time[group == g],
                                                                  status[group == g])))
    followup <- lapply(order, function(g) c(list(group = g),
                                            reverse_median(time[group == g], status[group == g])))
    list(grouping = grouping, km = km, followup = followup,
         logrank = list(statistic = test$chisq, df = df,
                        p = pchisq(test$chisq, df, lower.tail = FALSE)))
  })
  clinical <- d$mg_clinical
  tau <- common_tau(time, status, clinical, orders$mg_clinical)
  rmst <- lapply(orders$mg_clinical, function(g) {
    r <- rmst_at(time[clinical == g], status[clinical == g], tau)
    c(list(group = g), as.list(interval(r$mean, sqrt(r$var))))
  })
  difference <- contrast_rows(time, status, clinical == "low", tau)[1, ]
  list(followup_all = reverse_median(time, status), groupings = groupings,
       rmst = list(tau = tau, groups = rmst,
                   difference = list(estimate = difference[[1]], se = difference[[2]],
                                     lower = difference[[3]], upper = difference[[4]],
                                     p = difference[[5]])))
}

arms <- sort(unique(syn$arm))
fixture <- list(
  versions = list(R = R.version.string, survival = as.character(packageVersion("survival"))),
  arms = lapply(arms, function(arm) {
    d <- syn[syn$arm == arm, ]
    list(arm = arm, pfs = subset_fixture(d, "pfs"), os = subset_fixture(d, "os"))
  })
)
write_json(fixture, file.path(out_dir, "subsets_synthetic_400.json"), digits = NA,
           auto_unbox = TRUE, na = "null", pretty = TRUE)
