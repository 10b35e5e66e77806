# Reference results for the subgroup table (tests/test_r_parity.py): on synthetic_400, the
# low-vs-normal Mg HR (threshold 0.70 mmol/L) within each level of each covariate (age split
# at its median: below; at or above) and of the arm, from coxph(Surv ~ mg_clinical) on the
# level's patients, and per variable the interaction p: the likelihood-ratio test (anova)
# of mg_clinical * variable against mg_clinical + variable. coxph at R's precision, as
# make_fixtures.R fits it.
#
# Run by hand from the repository root when the dataset or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/subgroups.R
# It reads tests/reference/data/synthetic_400.csv and writes
# tests/reference/fixtures/subgroups_synthetic_400.json. R is not a test dependency.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

syn <- read.csv("tests/reference/data/synthetic_400.csv", stringsAsFactors = FALSE)
syn$low <- factor(ifelse(syn$mg_mmol_l < 0.70, "low", "normal"), levels = c("normal", "low"))
age_median <- median(syn$age)
syn$age_group <- ifelse(syn$age < age_median, "below", "at or above")
control <- coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100)
variables <- list(age = "age_group", sex = "sex", ecog = "ecog", histology = "histology",
                  pdl1 = "pdl1", arm = "arm")

subgroups <- function(endpoint) {
  surv <- paste0("Surv(", endpoint, "_months, ", endpoint, "_event)")
  lapply(variables, function(column) {
    d <- syn[!is.na(syn[[column]]), ]
    d$subgroup <- factor(d[[column]])
    main <- coxph(as.formula(paste(surv, "~ low + subgroup")), data = d, ties = "efron",
                  control = control)
    full <- coxph(as.formula(paste(surv, "~ low * subgroup")), data = d, ties = "efron",
                  control = control)
    lr <- anova(main, full)
    levels <- lapply(levels(d$subgroup), function(level) {
      fit <- coxph(as.formula(paste(surv, "~ low")), data = d[d$subgroup == level, ],
                   ties = "efron", control = control)
      s <- summary(fit)
      list(level = level, hr = unname(s$conf.int[1, "exp(coef)"]),
           hr_lower = unname(s$conf.int[1, "lower .95"]),
           hr_upper = unname(s$conf.int[1, "upper .95"]),
           p = unname(s$coefficients[1, "Pr(>|z|)"]), n = fit$n, events = fit$nevent)
    })
    list(interaction_p = lr[["Pr(>|Chi|)"]][2], levels = levels)
  })
}

out <- list(age_median = age_median, pfs = subgroups("pfs"), os = subgroups("os"))
write_json(out, "tests/reference/fixtures/subgroups_synthetic_400.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE)
