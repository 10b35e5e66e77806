# Reference results for Rubin's rules (tests/test_rubin.py): mice's pool() on the Cox models
# of a multiply imputed synthetic_400. Missing values are made deterministically (age of
# every 7th patient, PD-L1 of every 5th patient with a death, ECOG of every 9th); mice
# imputes them (pmm, logreg, polyreg; the event indicator and the Nelson-Aalen cumulative
# hazard among the predictors, as White & Royston 2009 advise); coxph(Surv(os) ~ low + age +
# sex + ecog + pdl1) is fitted on each of m = 5 imputations. The fixture holds each
# imputation's coefficients and variances and what pool() makes of them, with
# dfcom = events - coefficients (what mice takes for a coxph fit), and mice's nelsonaalen()
# of OS for every patient.
#
# Run by hand from the repository root when the dataset or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite r-cran-mice
#   Rscript tests/reference/rubin.R
# It reads tests/reference/data/synthetic_400.csv and writes
# tests/reference/fixtures/rubin_synthetic_400.json. R is not a test dependency.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(mice)
})

syn <- read.csv("tests/reference/data/synthetic_400.csv", stringsAsFactors = FALSE)
row <- seq_len(nrow(syn))
syn$age[row %% 7 == 0] <- NA
syn$pdl1[row %% 5 == 0 & syn$os_event == 1] <- NA
syn$ecog[row %% 9 == 0] <- NA
d <- data.frame(
  os_months = syn$os_months, os_event = syn$os_event,
  low = factor(ifelse(syn$mg_mmol_l < 0.70, "low", "normal"), levels = c("normal", "low")),
  age = syn$age, sex = relevel(factor(syn$sex), ref = "male"),
  ecog = relevel(factor(syn$ecog), ref = "0"),
  pdl1 = factor(syn$pdl1, levels = c("<1%", "1-49%", ">=50%"))
)
d$cumulative_hazard <- nelsonaalen(d, os_months, os_event)
imputed <- mice(d, m = 5, seed = 20261206, printFlag = FALSE)
fits <- with(imputed, coxph(Surv(os_months, os_event) ~ low + age + sex + ecog + pdl1,
                            ties = "efron"))
p <- length(coef(fits$analyses[[1]]))
dfcom <- fits$analyses[[1]]$nevent - p
pooled <- pool(fits, dfcom = dfcom)
shown <- summary(pooled, conf.int = TRUE)
out <- list(
  methods = as.list(imputed$method),
  cumulative_hazard = d$cumulative_hazard,
  dfcom = dfcom,
  terms = names(coef(fits$analyses[[1]])),
  estimates = lapply(fits$analyses, function(f) unname(coef(f))),
  variances = lapply(fits$analyses, function(f) unname(diag(vcov(f)))),
  pooled = list(estimate = pooled$pooled$estimate, ubar = pooled$pooled$ubar,
                b = pooled$pooled$b, t = pooled$pooled$t, df = pooled$pooled$df,
                riv = pooled$pooled$riv, fmi = pooled$pooled$fmi,
                std_error = shown$std.error, lower = shown[["2.5 %"]],
                upper = shown[["97.5 %"]], p = shown$p.value)
)
write_json(out, "tests/reference/fixtures/rubin_synthetic_400.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
