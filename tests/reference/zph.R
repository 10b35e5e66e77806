# Reference results of R survival's cox.zph (>= 3.0, the exact score test) for
# tests/test_zph.py.
#
# Run by hand from the repository root when datasets or reported quantities change:
#   Rscript tests/reference/zph.R
# It reads tests/reference/data/*.csv and writes tests/reference/fixtures/zph_<case>.json,
# one file per model, with cox.zph(fit, transform, terms = TRUE, global = TRUE) for each
# transform listed. R is not a test dependency: the fixtures are committed.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0("zph_", name, ".json")), digits = NA,
             auto_unbox = TRUE, na = "null", pretty = TRUE)
}

# One cox.zph result: the test table, the transformed and raw event times, the scaled
# Schoenfeld residuals (one list per term, rows in R's order) and zp$var.
zph_entry <- function(fit, transform) {
  zp <- cox.zph(fit, transform = transform, terms = TRUE, global = TRUE)
  y <- unname(as.data.frame(unclass(zp$y)))
  names(y) <- colnames(zp$y)
  list(term = rownames(zp$table), chisq = unname(zp$table[, "chisq"]),
       df = unname(zp$table[, "df"]), p = unname(zp$table[, "p"]),
       x = zp$x, time = zp$time, y = as.list(y), var = unname(zp$var),
       strata = if (is.null(zp$strata)) NULL else as.character(zp$strata))
}

# Fit at R's precision and run cox.zph for each transform (model = TRUE: cox.zph rebuilds
# the data from the stored model frame). `assign` maps each term to its coefficient names,
# the grouping cox.zph tests jointly.
zph_case <- function(name, formula, data, transforms) {
  fit <- coxph(formula, data = data, ties = "efron", model = TRUE,
               control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
  coefs <- names(coef(fit))
  assign <- lapply(fit$assign, function(j) coefs[j])
  results <- lapply(transforms, function(tr) zph_entry(fit, tr))
  names(results) <- transforms
  save(list(versions = versions, formula = deparse(formula), n = fit$n, events = fit$nevent,
            coef_names = coefs, coef = unname(coef(fit)), assign = assign,
            fit_var = unname(fit$var), zph = results), name)
}

all_transforms <- c("km", "rank", "identity", "log")

# R's lung data, complete cases; ph.ecog = 3 has a single patient, so in the stratified
# model every covariate is constant in that stratum (cox.zph's `used` is 0 there). Ordered
# first (strata by 3 - ph.ecog), it shifts the rows cox.zph scales for the later strata.
lung <- read.csv(file.path(data_dir, "lung.csv"))
lung <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog")]), ]
zph_case("lung", Surv(time, status) ~ age + sex + ph.ecog, lung, all_transforms)
zph_case("lung_strata", Surv(time, status) ~ age + sex + strata(ph.ecog), lung, "km")
lung$ecog_reversed <- 3 - lung$ph.ecog
zph_case("lung_strata_reversed", Surv(time, status) ~ age + sex + strata(ecog_reversed), lung,
         "km")

# Veteran: celltype is a 4-level factor, tested jointly with df = 3.
vet <- read.csv(file.path(data_dir, "veteran.csv"))
vet$celltype <- factor(vet$celltype, levels = c("squamous", "smallcell", "adeno", "large"))
zph_case("veteran", Surv(time, status) ~ trt + celltype + karno + age, vet, all_transforms)
zph_case("veteran_strata", Surv(time, status) ~ karno + age + strata(celltype), vet,
         c("km", "rank", "identity"))

# Covariates constant within a stratum: karno2 is constant for trt = 2, and cell2 has no
# "large" patients for trt = 1 (one dummy of a 3-column term is constant there).
vet$karno2 <- ifelse(vet$trt == 2, 60, vet$karno)
vet$cell2 <- vet$celltype
vet$cell2[vet$trt == 1 & vet$cell2 == "large"] <- "adeno"
zph_case("veteran_partial", Surv(time, status) ~ cell2 + karno2 + age + strata(trt), vet,
         c("km", "identity"))

# Synthetic cohorts with mgsurv's default model: low Mg (< 0.70 mmol/L) and covariates.
synthetic <- function(file) {
  d <- read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)
  d$mg_low <- as.numeric(d$mg_mmol_l < 0.70)
  d$arm <- factor(d$arm, levels = c("chemotherapy", "immunotherapy"))
  d$sex <- factor(d$sex, levels = c("male", "female"))
  d$ecog <- factor(d$ecog, levels = c(0, 1))
  d$histology <- factor(d$histology, levels = c("non-squamous", "squamous"))
  d$pdl1 <- factor(d$pdl1, levels = c("<1%", "1-49%", ">=50%"))
  d
}
syn <- synthetic("synthetic_400.csv")
untied <- synthetic("synthetic_untied_300.csv")
zph_case("synthetic_400_os",
         Surv(os_months, os_event) ~ mg_low + arm + age + sex + ecog + histology + pdl1, syn,
         c("km", "rank"))
zph_case("synthetic_400_pfs",
         Surv(pfs_months, pfs_event) ~ mg_low + arm + age + sex + ecog + histology + pdl1, syn,
         "km")
zph_case("synthetic_400_os_strata",
         Surv(os_months, os_event) ~ mg_low + age + sex + ecog + histology + pdl1 + strata(arm),
         syn, "km")
zph_case("synthetic_untied_300_os",
         Surv(os_months, os_event) ~ mg_low + arm + age + sex + ecog + histology + pdl1, untied,
         c("km", "identity"))
