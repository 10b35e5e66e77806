# Reference results for mgsurv.stats.rmst (tests/test_rmst.py): restricted mean survival time per
# group at tau and survRM2's unadjusted contrasts (RMST difference, RMST ratio, RMTL ratio).
#
# Run by hand from the repository root when the datasets or the reported quantities change:
#   Rscript tests/reference/rmst.R
# It reads tests/reference/data/*.csv and writes tests/reference/fixtures/rmst_*.json.
# R is not a test dependency: the fixtures are committed.
#
# survRM2 (CRAN) is not installable here, so its formulas are implemented in
# survrm2_formulas.R from survRM2 1.0-4 (2022-06-14; GitHub mirror cran/survRM2, files
# R/rmst1.R and R/rmst2.R, cited by line of that version) and computed by R, independently of
# mgsurv's Python. survival's own
# restricted mean (survmean, via summary(survfit, rmean = tau)) is written alongside as a check.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)

source("tests/reference/survrm2_formulas.R")

# One case: per-group rows (order), then for each non-reference group g against order[1]:
# "g - ref", "g / ref", "RMTL g / ref". With survival's rmean and se(rmean) per group at tau.
rmst_case <- function(name, data, time_col, status_col, group_col, order, tau = NULL) {
  d <- read_dataset(data)
  time <- d[[time_col]]
  status <- d[[status_col]]
  group <- as.character(d[[group_col]])
  case <- list(name = name, data = data, time = time_col, status = status_col,
               group = group_col, order = order, tau_requested = if (is.null(tau)) NA else tau)
  tau <- tryCatch(common_tau(time, status, group, order, tau), error = function(e) e)
  if (inherits(tau, "error")) return(c(case, list(error = conditionMessage(tau))))
  ref <- order[1]
  labels <- order
  rows <- t(sapply(order, function(g) {
    r <- rmst_at(time[group == g], status[group == g], tau)
    c(interval(r$mean, sqrt(r$var)), NA)
  }))
  for (g in order[-1]) {
    keep <- group %in% c(ref, g)
    rows <- rbind(rows, contrast_rows(time[keep], status[keep], group[keep] == g, tau))
    labels <- c(labels, paste(g, "-", ref), paste(g, "/", ref), paste("RMTL", g, "/", ref))
  }
  c(case, list(
    error = NA, tau = tau,
    rows = list(group = labels, estimate = unname(rows[, 1]), se = unname(rows[, 2]),
                lower = unname(rows[, 3]), upper = unname(rows[, 4]), p = unname(rows[, 5])),
    survival_rmean = survival_rmean(time, status, group, order, tau)
  ))
}

# survival's restricted mean per group (survmean): summary.survfit refuses a tau before the
# first observed time, recorded as NA.
survival_rmean <- function(time, status, group, order, tau) {
  if (tau < min(time)) return(NA)
  fit <- survfit(Surv(time, status) ~ factor(group, levels = order))
  rmean <- summary(fit, rmean = tau)$table[, c("rmean", "se(rmean)")]
  list(group = order, rmean = unname(rmean[, 1]), se = unname(rmean[, 2]))
}

# Single-group rmst1 (no tau check in survRM2): a tau past a curve that reached 0.
rmst1_case <- function(data, group_col, g, tau) {
  d <- read_dataset(data)
  keep <- as.character(d[[group_col]]) == g
  r <- rmst_at(d$time[keep], d$status[keep], tau)
  c(list(group = g, tau = tau), as.list(interval(r$mean, sqrt(r$var))))
}

read_dataset <- function(name) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  if ("mg_mmol_l" %in% names(d)) d$mg_clinical <- ifelse(d$mg_mmol_l < 0.70, "low", "normal")
  d
}

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0("rmst_", name, ".json")), digits = NA,
             auto_unbox = TRUE, na = "null", pretty = TRUE)
}

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 formulas = "survRM2 1.0-4 R/rmst1.R, R/rmst2.R")

# lung (days): both arms end censored (rmst2 case 4), default tau and fixed taus.
save(list(versions = versions, cases = list(
  rmst_case("sex default", "lung", "time", "status", "sex", c("1", "2")),
  rmst_case("sex tau 365", "lung", "time", "status", "sex", c("1", "2"), 365),
  rmst_case("sex tau 730", "lung", "time", "status", "sex", c("1", "2"), 730),
  rmst_case("sex tau beyond", "lung", "time", "status", "sex", c("1", "2"), 966)
)), "lung")

# veteran (days): both arms end in an event (case 1): the default is the larger maximum.
save(list(versions = versions, cases = list(
  rmst_case("trt default", "veteran", "time", "status", "trt", c("1", "2")),
  rmst_case("trt tau 180", "veteran", "time", "status", "trt", c("1", "2"), 180),
  rmst_case("trt tau beyond", "veteran", "time", "status", "trt", c("1", "2"), 1000)
)), "veteran")

# synthetic_400 (months, 0.1-month ties): Mg low vs normal and arm, OS (case 4) and PFS
# (Mg: case 3, arm: case 1).
syn_cases <- list()
for (endpoint in c("os", "pfs")) {
  time_col <- paste0(endpoint, "_months")
  status_col <- paste0(endpoint, "_event")
  for (grouping in list(list("mg_clinical", c("normal", "low")),
                        list("arm", c("chemotherapy", "immunotherapy")))) {
    for (tau in list(NULL, 12)) {
      name <- paste(endpoint, grouping[[1]], if (is.null(tau)) "default" else paste("tau", tau))
      syn_cases[[length(syn_cases) + 1]] <- rmst_case(name, "synthetic_400", time_col,
                                                      status_col, grouping[[1]], grouping[[2]],
                                                      tau)
    }
  }
}
syn_cases[[length(syn_cases) + 1]] <- rmst_case("pfs mg_clinical tau beyond", "synthetic_400",
                                                "pfs_months", "pfs_event", "mg_clinical",
                                                c("normal", "low"), 20)
save(list(versions = versions, cases = syn_cases), "synthetic_400")

# synthetic_untied_300 (distinct times): OS by Mg and by arm.
save(list(versions = versions, cases = list(
  rmst_case("os mg_clinical default", "synthetic_untied_300", "os_months", "os_event",
            "mg_clinical", c("normal", "low")),
  rmst_case("os mg_clinical tau 24", "synthetic_untied_300", "os_months", "os_event",
            "mg_clinical", c("normal", "low"), 24),
  rmst_case("os arm default", "synthetic_untied_300", "os_months", "os_event", "arm",
            c("chemotherapy", "immunotherapy"))
)), "synthetic_untied_300")

# toy: four groups, reference "plateau" (S = 0.5 plateau, reaches 0 at 4), "tozero" (tied events,
# reaches 0 at 5), "notreached" and "ties" (end censored at 7 and 8). Default tau = 5, where
# tozero reaches 0; tau = 4 and 2.5 are event times (2.5 tied with a censoring); tau = 6 fails
# rmst2's check for plateau vs tozero (both end in events: limit max(4, 5)); tau = 1 is before
# any event but the first.
toy_order <- c("plateau", "tozero", "notreached", "ties")
save(list(versions = versions, cases = list(
  rmst_case("all default", "toy", "time", "status", "group", toy_order),
  rmst_case("all tau 4", "toy", "time", "status", "group", toy_order, 4),
  rmst_case("all tau 2.5", "toy", "time", "status", "group", toy_order, 2.5),
  rmst_case("all tau 0.5", "toy", "time", "status", "group", toy_order, 0.5),
  rmst_case("all tau 6", "toy", "time", "status", "group", toy_order, 6),
  rmst_case("ties vs notreached default", "toy", "time", "status", "group",
            c("notreached", "ties")),
  rmst_case("ties vs notreached tau beyond", "toy", "time", "status", "group",
            c("notreached", "ties"), 7.5)
), rmst1 = list(
  rmst1_case("toy", "group", "tozero", 6),
  rmst1_case("toy", "group", "plateau", 10)
)), "toy")
