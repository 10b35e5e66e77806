# Reference results for the threshold grid (tests/test_r_parity.py): on synthetic_400, for
# each threshold from 0.60 to 0.85 mmol/L in steps of 0.01, the HR of Mg below the
# threshold vs not, from coxph adjusted as mgsurv's multivariable model (all patients: arm
# and the covariates) and each arm's own model (the covariates), with its 95% CI, Wald p,
# and the model's n and events; coxph at R's precision, as make_fixtures.R fits it.
#
# Run by hand from the repository root when the dataset or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/thresholds.R
# It reads tests/reference/data/synthetic_400.csv and writes
# tests/reference/fixtures/thresholds_synthetic_400.json. R is not a test dependency.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

syn <- read.csv("tests/reference/data/synthetic_400.csv", stringsAsFactors = FALSE)
syn$arm <- relevel(factor(syn$arm), ref = "chemotherapy")
syn$sex <- relevel(factor(syn$sex), ref = "male")
syn$ecog <- relevel(factor(syn$ecog), ref = "0")
syn$histology <- relevel(factor(syn$histology), ref = "non-squamous")
syn$pdl1 <- relevel(factor(syn$pdl1), ref = "<1%")
covariates <- "age + sex + ecog + histology + pdl1"
thresholds <- round(seq(0.60, 0.85, by = 0.01), 6)

grid <- function(d, adjust, endpoint) {
  # the model's complete cases: the group sizes are those of the patients in the HR
  d <- d[complete.cases(d[, c("age", "sex", "ecog", "histology", "pdl1", "arm")]), ]
  lapply(thresholds, function(threshold) {
    d$low <- factor(ifelse(d$mg_mmol_l < threshold, "low", "normal"), levels = c("normal", "low"))
    f <- as.formula(paste0("Surv(", endpoint, "_months, ", endpoint, "_event) ~ low + ", adjust))
    fit <- coxph(f, data = d, ties = "efron",
                 control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
    s <- summary(fit)
    list(threshold = threshold, n_low = sum(d$low == "low"), n_normal = sum(d$low == "normal"),
         hr = unname(s$conf.int["lowlow", "exp(coef)"]),
         hr_lower = unname(s$conf.int["lowlow", "lower .95"]),
         hr_upper = unname(s$conf.int["lowlow", "upper .95"]),
         p = unname(s$coefficients["lowlow", "Pr(>|z|)"]), n = fit$n, events = fit$nevent)
  })
}

subsets <- list(all = list(data = syn, adjust = paste("arm +", covariates)))
for (arm in sort(levels(syn$arm))) {
  subsets[[paste0("arm=", arm)]] <- list(data = syn[syn$arm == arm, ], adjust = covariates)
}
out <- lapply(c(pfs = "pfs", os = "os"), function(endpoint)
  lapply(subsets, function(s) grid(s$data, s$adjust, endpoint)))
write_json(out, "tests/reference/fixtures/thresholds_synthetic_400.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
