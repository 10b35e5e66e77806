# Reference results for inverse probability of treatment weighting (tests/test_iptw.py): on
# synthetic_400, within each arm, low (Mg < 0.70 mmol/L) vs normal Mg weighted for the
# configured covariates (age, sex, ECOG, histology, PD-L1):
# - the propensity from glm(low ~ covariates, family = binomial) (R's IRLS);
# - stabilised ATE weights (as WeightIt's weightit(method = "glm", stabilize = TRUE)), and
#   the same trimmed at the 5th and 95th percentiles (WeightIt's trim(at = 0.95,
#   lower = TRUE): quantile type 3);
# - standardised mean differences as cobalt's bal.tab(binary = "std", s.d.denom = "pooled")
#   defines them (weighted means, pooled unweighted SD; p(1 - p) for 0/1 columns), written
#   out in base R (cobalt is not packaged in Debian);
# - the weighted Kaplan-Meier estimate, survfit(weights = w), at every event time;
# - coxph(Surv ~ low, weights = w, robust = TRUE): coefficient, naive and robust SE, at R's
#   precision as make_fixtures.R fits it.
#
# Run by hand from the repository root when the dataset or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/iptw.R
# It reads tests/reference/data/synthetic_400.csv and writes
# tests/reference/fixtures/iptw_synthetic_400.json. R is not a test dependency.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

syn <- read.csv("tests/reference/data/synthetic_400.csv", stringsAsFactors = FALSE)
syn$low <- as.integer(syn$mg_mmol_l < 0.70)
syn$sex <- relevel(factor(syn$sex), ref = "male")
syn$ecog <- relevel(factor(syn$ecog), ref = "0")
syn$histology <- relevel(factor(syn$histology), ref = "non-squamous")
syn$pdl1 <- factor(syn$pdl1, levels = c("<1%", "1-49%", ">=50%"))
control <- coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100)

# The balance columns: age as it is, a two-level factor's non-reference level, every level
# of a factor with more (as cobalt's splitfactor(drop.first = "if2")).
balance_columns <- function(d) {
  data.frame(age = d$age, "sex_female" = as.numeric(d$sex == "female"),
             "ecog_1" = as.numeric(d$ecog == "1"),
             "histology_squamous" = as.numeric(d$histology == "squamous"),
             "pdl1_<1%" = as.numeric(d$pdl1 == "<1%"),
             "pdl1_1-49%" = as.numeric(d$pdl1 == "1-49%"),
             "pdl1_>=50%" = as.numeric(d$pdl1 == ">=50%"), check.names = FALSE)
}

column_variance <- function(x) {
  if (all(x %in% c(0, 1))) mean(x) * (1 - mean(x)) else var(x)
}

smd <- function(columns, low, w) {
  sapply(columns, function(x) {
    difference <- weighted.mean(x[low == 1], w[low == 1]) - weighted.mean(x[low == 0], w[low == 0])
    pooled <- sqrt((column_variance(x[low == 1]) + column_variance(x[low == 0])) / 2)
    if (abs(difference) < sqrt(.Machine$double.eps)) 0 else difference / pooled
  })
}

weighted_results <- function(d, w, endpoint) {
  surv <- as.formula(paste0("Surv(", endpoint, "_months, ", endpoint, "_event) ~ low"))
  fit <- coxph(surv, data = d, weights = w, robust = TRUE, ties = "efron", control = control)
  km <- survfit(surv, data = d, weights = w)
  s <- summary(km, censored = FALSE)
  list(coef = unname(coef(fit)), naive_se = sqrt(fit$naive.var[1, 1]),
       robust_se = sqrt(fit$var[1, 1]),
       km = list(group = sub("low=", "", as.character(s$strata)), time = s$time,
                 surv = s$surv, n_risk = s$n.risk, n_event = s$n.event))
}

by_arm <- lapply(split(syn, syn$arm), function(d) {
  model <- glm(low ~ age + sex + ecog + histology + pdl1, family = binomial, data = d)
  e <- fitted(model)
  share <- mean(d$low)
  w <- ifelse(d$low == 1, share / e, (1 - share) / (1 - e))
  limits <- quantile(w, probs = c(0.05, 0.95), type = 3)
  trimmed <- pmin(pmax(w, limits[1]), limits[2])
  columns <- balance_columns(d)
  list(patient_id = d$patient_id, propensity = unname(e), weights = unname(w),
       trimmed = unname(trimmed),
       smd_unweighted = as.list(smd(columns, d$low, rep(1, nrow(d)))),
       smd_weighted = as.list(smd(columns, d$low, w)),
       smd_trimmed = as.list(smd(columns, d$low, trimmed)),
       pfs = weighted_results(d, w, "pfs"), os = weighted_results(d, w, "os"),
       pfs_trimmed = weighted_results(d, trimmed, "pfs"))
})

write_json(by_arm, "tests/reference/fixtures/iptw_synthetic_400.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
