# Reference results from R survival for mgsurv's parity tests (tests/test_r_parity.py).
#
# Run by hand from the repository root when datasets or reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/make_fixtures.R
# It reads tests/reference/data/*.csv and writes tests/reference/fixtures/*.json.
# R is not a test dependency: the fixtures are committed.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)

# Kaplan-Meier per group with R's log-log band and quantile.survfit median.
km_rows <- function(time, status, group) {
  lapply(sort(unique(group)), function(g) {
    fit <- survfit(Surv(time[group == g], status[group == g]) ~ 1, conf.type = "log-log")
    q <- quantile(fit, 0.5)
    list(group = g, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
         n_censor = fit$n.censor, surv = fit$surv, lower = fit$lower, upper = fit$upper,
         median = unname(q$quantile), median_lower = unname(q$lower),
         median_upper = unname(q$upper))
  })
}

logrank_row <- function(time, status, group) {
  test <- survdiff(Surv(time, status) ~ group)
  df <- length(test$n) - 1
  list(statistic = test$chisq, df = df, p = pchisq(test$chisq, df, lower.tail = FALSE))
}

# coxph at R's precision; one entry per coefficient, named as mgsurv names its terms.
cox_rows <- function(formula, data, term_names) {
  fit <- coxph(formula, data = data, ties = "efron",
               control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
  s <- summary(fit)$coefficients
  ci <- exp(confint(fit))
  list(term = term_names, coef = unname(s[, "coef"]), se = unname(s[, "se(coef)"]),
       hr = unname(s[, "exp(coef)"]), hr_lower = unname(ci[, 1]), hr_upper = unname(ci[, 2]),
       z = unname(s[, "z"]), p = unname(s[, "Pr(>|z|)"]), n = fit$n, events = fit$nevent)
}

# Model-level statistics as summary(coxph) reports them.
model_stats <- function(fit) {
  list(n = fit$n, events = fit$nevent, loglik = fit$loglik[2],
       lr_statistic = 2 * (fit$loglik[2] - fit$loglik[1]), lr_df = length(coef(fit)),
       lr_p = pchisq(2 * (fit$loglik[2] - fit$loglik[1]), length(coef(fit)), lower.tail = FALSE),
       concordance = unname(fit$concordance["concordance"]))
}

fit_r <- function(formula, data) {
  coxph(formula, data = data, ties = "efron",
        control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
}

# A linear combination of coefficients (e.g. low Mg within the immunotherapy arm).
combination <- function(fit, weights, label) {
  b <- sum(coef(fit)[names(weights)] * weights)
  se <- sqrt(drop(t(weights) %*% vcov(fit)[names(weights), names(weights)] %*% weights))
  z <- b / se
  list(term = label, coef = b, se = se, hr = exp(b), hr_lower = exp(b - qnorm(0.975) * se),
       hr_upper = exp(b + qnorm(0.975) * se), z = z, p = 2 * pnorm(-abs(z)), n = fit$n,
       events = fit$nevent)
}

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             na = "null", pretty = TRUE)
}

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

# Toy curves: an exact S = 0.5 plateau, a curve reaching 0, a median not reached, ties.
toy <- read.csv(file.path(data_dir, "toy.csv"))
save(list(versions = versions, km = km_rows(toy$time, toy$status, toy$group)), "toy")

# R's lung data: time in days, status 0/1 (recoded from 1/2), by sex.
lung <- read.csv(file.path(data_dir, "lung.csv"))
lung$sex <- factor(lung$sex, levels = c(1, 2))
save(list(
  versions = versions,
  km = km_rows(lung$time, lung$status, as.character(lung$sex)),
  logrank = logrank_row(lung$time, lung$status, lung$sex),
  cox = cox_rows(Surv(time, status) ~ sex + age + ph.ecog, lung,
                 c("sex[2 vs 1]", "age", "ph.ecog"))
), "lung")

# A synthetic cohort prepared as mgsurv prepares it (threshold 0.70 mmol/L, type-7 quartiles
# closed on the right), with the default covariates and references.
syn <- read.csv(file.path(data_dir, "synthetic_400.csv"), stringsAsFactors = FALSE)
syn$mg_clinical <- factor(ifelse(syn$mg_mmol_l < 0.70, "low", "normal"),
                          levels = c("normal", "low"))
q <- quantile(syn$mg_mmol_l, c(0.25, 0.5, 0.75), type = 7)
syn$mg_quartile <- cut(syn$mg_mmol_l, c(-Inf, q, Inf), labels = c("Q1", "Q2", "Q3", "Q4"),
                       right = TRUE)
syn$mg_per_0.1 <- syn$mg_mmol_l / 0.1
syn$arm <- factor(syn$arm, levels = c("chemotherapy", "immunotherapy"))
syn$sex <- factor(syn$sex, levels = c("male", "female"))
syn$ecog <- factor(syn$ecog, levels = c(0, 1))
syn$histology <- factor(syn$histology, levels = c("non-squamous", "squamous"))
syn$pdl1 <- factor(syn$pdl1, levels = c("<1%", "1-49%", ">=50%"))
covariate_terms <- c("age", "sex[female vs male]", "ecog[1 vs 0]",
                     "histology[squamous vs non-squamous]", "pdl1[1-49% vs <1%]",
                     "pdl1[>=50% vs <1%]")
endpoint_fixture <- function(endpoint) {
  time <- syn[[paste0(endpoint, "_months")]]
  status <- syn[[paste0(endpoint, "_event")]]
  d <- syn
  d$time <- time
  d$status <- status
  interaction <- fit_r(
    Surv(time, status) ~ mg_clinical * arm + age + sex + ecog + histology + pdl1, d)
  continuous_interaction <- fit_r(
    Surv(time, status) ~ mg_per_0.1 * arm + age + sex + ecog + histology + pdl1, d)
  by_group <- split(seq_len(nrow(d)), as.character(d$mg_clinical))
  list(
    landmarks = lapply(by_group, function(rows) {
      s <- summary(survfit(Surv(time[rows], status[rows]) ~ 1, conf.type = "log-log"),
                   times = c(6, 12, 24))
      list(time = s$time, surv = s$surv, lower = s$lower, upper = s$upper)
    }),
    followup = lapply(by_group, function(rows) {
      q <- quantile(survfit(Surv(time[rows], 1 - status[rows]) ~ 1, conf.type = "log-log"),
                    0.5)
      list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
    }),
    model_stats = list(
      multivariable = model_stats(fit_r(
        Surv(time, status) ~ mg_clinical + arm + age + sex + ecog + histology + pdl1, d)),
      stratified = model_stats(fit_r(
        Surv(time, status) ~ mg_clinical + age + sex + ecog + histology + pdl1 + strata(arm),
        d)),
      interaction = model_stats(interaction),
      univariable_mg_quartile = model_stats(fit_r(Surv(time, status) ~ mg_quartile, d))
    ),
    low_mg_within_arms = list(
      combination(interaction, c(mg_clinicallow = 1),
                  "mg_clinical[low vs normal] within arm=chemotherapy"),
      combination(interaction, c(mg_clinicallow = 1, `mg_clinicallow:armimmunotherapy` = 1),
                  "mg_clinical[low vs normal] within arm=immunotherapy")
    ),
    continuous_within_arms = list(
      combination(continuous_interaction, c(mg_per_0.1 = 1),
                  "mg_per_0.1_mmol_l within arm=chemotherapy"),
      combination(continuous_interaction,
                  c(mg_per_0.1 = 1, `mg_per_0.1:armimmunotherapy` = 1),
                  "mg_per_0.1_mmol_l within arm=immunotherapy")
    ),
    km = list(mg_clinical = km_rows(time, status, as.character(syn$mg_clinical)),
              mg_quartile = km_rows(time, status, as.character(syn$mg_quartile))),
    logrank = list(mg_clinical = logrank_row(time, status, syn$mg_clinical),
                   mg_quartile = logrank_row(time, status, syn$mg_quartile)),
    cox = list(
      univariable_mg_clinical = cox_rows(Surv(time, status) ~ mg_clinical, d,
                                         "mg_clinical[low vs normal]"),
      univariable_mg_quartile = cox_rows(Surv(time, status) ~ mg_quartile, d,
                                         c("mg_quartile[Q2 vs Q1]", "mg_quartile[Q3 vs Q1]",
                                           "mg_quartile[Q4 vs Q1]")),
      univariable_mg_continuous = cox_rows(Surv(time, status) ~ mg_per_0.1, d,
                                           "mg_per_0.1_mmol_l"),
      multivariable = cox_rows(
        Surv(time, status) ~ mg_clinical + arm + age + sex + ecog + histology + pdl1, d,
        c("mg_clinical[low vs normal]", "arm[immunotherapy vs chemotherapy]", covariate_terms)),
      continuous = cox_rows(
        Surv(time, status) ~ mg_per_0.1 + arm + age + sex + ecog + histology + pdl1, d,
        c("mg_per_0.1_mmol_l", "arm[immunotherapy vs chemotherapy]", covariate_terms)),
      `arm=immunotherapy` = cox_rows(
        Surv(time, status) ~ mg_clinical + age + sex + ecog + histology + pdl1,
        d[d$arm == "immunotherapy", ], c("mg_clinical[low vs normal]", covariate_terms)),
      stratified = cox_rows(
        Surv(time, status) ~ mg_clinical + age + sex + ecog + histology + pdl1 + strata(arm), d,
        c("mg_clinical[low vs normal]", covariate_terms)),
      interaction = cox_rows(
        Surv(time, status) ~ mg_clinical * arm + age + sex + ecog + histology + pdl1, d,
        c("mg_clinical[low vs normal]", "arm[immunotherapy vs chemotherapy]", covariate_terms,
          "mg_clinical[low vs normal]:arm[immunotherapy vs chemotherapy]")),
      `arm=chemotherapy` = cox_rows(
        Surv(time, status) ~ mg_clinical + age + sex + ecog + histology + pdl1,
        d[d$arm == "chemotherapy", ], c("mg_clinical[low vs normal]", covariate_terms)),
      `continuous-interaction` = cox_rows(
        Surv(time, status) ~ mg_per_0.1 * arm + age + sex + ecog + histology + pdl1, d,
        c("mg_per_0.1_mmol_l", "arm[immunotherapy vs chemotherapy]", covariate_terms,
          "mg_per_0.1_mmol_l:arm[immunotherapy vs chemotherapy]")),
      `continuous arm=immunotherapy` = cox_rows(
        Surv(time, status) ~ mg_per_0.1 + age + sex + ecog + histology + pdl1,
        d[d$arm == "immunotherapy", ], c("mg_per_0.1_mmol_l", covariate_terms)),
      `continuous arm=chemotherapy` = cox_rows(
        Surv(time, status) ~ mg_per_0.1 + age + sex + ecog + histology + pdl1,
        d[d$arm == "chemotherapy", ], c("mg_per_0.1_mmol_l", covariate_terms))
    )
  )
}
save(list(versions = versions, pfs = endpoint_fixture("pfs"), os = endpoint_fixture("os")),
     "synthetic_400")

# Two cohorts pooled in one Cox model stratified by cohort (the multi-cohort overview).
read_cohort <- function(file, name) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  d$cohort <- name
  d
}
pooled <- rbind(read_cohort("synthetic_400.csv", "a"), read_cohort("synthetic_untied_300.csv", "b"))
pooled$mg_clinical <- factor(ifelse(pooled$mg_mmol_l < 0.70, "low", "normal"),
                             levels = c("normal", "low"))
pooled$arm <- factor(pooled$arm, levels = c("chemotherapy", "immunotherapy"))
pooled$sex <- factor(pooled$sex, levels = c("male", "female"))
pooled$ecog <- factor(pooled$ecog, levels = c(0, 1))
pooled$histology <- factor(pooled$histology, levels = c("non-squamous", "squamous"))
pooled$pdl1 <- factor(pooled$pdl1, levels = c("<1%", "1-49%", ">=50%"))
save(list(
  versions = versions,
  os = cox_rows(Surv(os_months, os_event) ~ mg_clinical + arm + age + sex + ecog + histology +
                  pdl1 + strata(cohort), pooled,
                c("mg_clinical[low vs normal]", "arm[immunotherapy vs chemotherapy]",
                  covariate_terms))
), "pooled_by_cohort")

# Table 1 (mgsurv.cohort.baseline): quartiles (quantile type 7) and standardized mean differences
# between low and normal Mg, written out here from their definitions: numeric
# |mean difference| / sqrt((var1 + var2) / 2); categorical Yang & Dalton (2012), as
# tableone's ExtractSmd, on all levels but the first.
smd_numeric <- function(x, g) {
  a <- x[g == "low"]; b <- x[g == "normal"]
  abs(mean(a, na.rm = TRUE) - mean(b, na.rm = TRUE)) /
    sqrt((var(a, na.rm = TRUE) + var(b, na.rm = TRUE)) / 2)
}
smd_categorical <- function(x, g) {
  levels <- sort(unique(as.character(x[!is.na(x)])))
  p <- function(v) as.numeric(table(factor(v[!is.na(v)], levels = levels)) / sum(!is.na(v)))[-1]
  p1 <- p(x[g == "low"]); p2 <- p(x[g == "normal"])
  s <- (diag(p1, length(p1)) - p1 %o% p1 + diag(p2, length(p2)) - p2 %o% p2) / 2
  sqrt(drop(t(p1 - p2) %*% solve(s) %*% (p1 - p2)))
}
table1 <- read.csv(file.path(data_dir, "synthetic_400.csv"), stringsAsFactors = FALSE)
mg_group <- ifelse(table1$mg_mmol_l < 0.70, "low", "normal")
save(list(
  versions = versions,
  age = list(quartiles_low = unname(quantile(table1$age[mg_group == "low"], c(0.25, 0.5, 0.75))),
             smd = smd_numeric(table1$age, mg_group)),
  mg_mmol_l = list(smd = smd_numeric(table1$mg_mmol_l, mg_group)),
  sex = list(smd = smd_categorical(table1$sex, mg_group)),
  pdl1 = list(smd = smd_categorical(table1$pdl1, mg_group)),
  arm = list(smd = smd_categorical(table1$arm, mg_group))
), "baseline")
