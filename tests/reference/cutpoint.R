# Reference results for mgsurv.stats.cutpoint (tests/test_cutpoint.py): maximally selected log-rank
# statistics, as maxstat computes them.
#
# Run from the repository root when the datasets or the reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-maxstat r-cran-jsonlite
#   Rscript tests/reference/cutpoint.R
# Writes tests/reference/fixtures/cutpoint_*.json. R is not a test dependency.
#
# maxstat.test(Surv(time, status) ~ x, smethod = "LogRank") once with pmethod = "Lau92" and
# once with "Lau94" (same statistic and cut); the log-rank scores of
# exactRankTests::cscores.Surv are stored too, to test their tie handling on its own.

suppressPackageStartupMessages({
  library(survival)
  library(maxstat)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             na = "null", pretty = TRUE)
}

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 maxstat = as.character(packageVersion("maxstat")),
                 exactRankTests = as.character(packageVersion("exactRankTests")))

# One search: the cut, its statistic, both corrected p-values, the naive p, the groups
# (low = x <= cut) and every candidate cut with its statistic.
cutpoint_case <- function(d, x, minprop = 0.1, maxprop = 0.9) {
  d <- data.frame(time = d$time, status = d$status, x = d[[x]])
  d <- d[complete.cases(d), ]
  fit <- function(pmethod) {
    maxstat.test(Surv(time, status) ~ x, data = d, smethod = "LogRank", pmethod = pmethod,
                 minprop = minprop, maxprop = maxprop)
  }
  lau92 <- fit("Lau92")
  lau94 <- fit("Lau94")
  stopifnot(identical(lau92$stats, lau94$stats), identical(lau92$estimate, lau94$estimate))
  cut <- unname(lau92$estimate)
  low <- d$x <= cut
  list(
    n = nrow(d), minprop = minprop, maxprop = maxprop,
    cutpoint = cut, statistic = unname(lau92$statistic),
    p_lau92 = lau92$p.value, p_lau94_uncapped = lau94$p.value,
    p_naive = 2 * pnorm(-unname(lau92$statistic)),
    n_low = sum(low), n_high = sum(!low),
    events_low = sum(d$status[low]), events_high = sum(d$status[!low]),
    candidates = list(cut = lau92$cuts, statistic = lau92$stats,
                      n_low = sapply(lau92$cuts, function(c) sum(d$x <= c))),
    scores = list(time = d$time, status = d$status,
                  logrank = as.vector(exactRankTests::cscores(Surv(d$time, d$status),
                                                              type = "LogRank")))
  )
}

read_synthetic <- function(file, endpoint) {
  d <- read.csv(file.path(data_dir, file))
  d$time <- d[[paste0(endpoint, "_months")]]
  d$status <- d[[paste0(endpoint, "_event")]]
  d
}

syn <- list(os = read_synthetic("synthetic_400.csv", "os"),
            pfs = read_synthetic("synthetic_400.csv", "pfs"))
save(list(versions = versions,
          os = cutpoint_case(syn$os, "mg_mmol_l"),
          pfs = cutpoint_case(syn$pfs, "mg_mmol_l"),
          os_20_80 = cutpoint_case(syn$os, "mg_mmol_l", 0.2, 0.8),
          os_full_range = cutpoint_case(syn$os, "mg_mmol_l", 0, 1)),
     "cutpoint_synthetic_400")
save(list(versions = versions,
          os = cutpoint_case(read_synthetic("synthetic_untied_300.csv", "os"), "mg_mmol_l")),
     "cutpoint_synthetic_untied_300")
# lung: age (ph.ecog has a missing value but is not used); veteran: Karnofsky score.
save(list(versions = versions, age = cutpoint_case(read.csv(file.path(data_dir, "lung.csv")),
                                                   "age")),
     "cutpoint_lung")
save(list(versions = versions,
          karno = cutpoint_case(read.csv(file.path(data_dir, "veteran.csv")), "karno")),
     "cutpoint_veteran")
