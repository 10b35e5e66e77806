# Reference results from R survival for mgsurv.stats.km (tests/test_km.py).
#
# Run by hand from the repository root when the datasets or km quantities change:
#   Rscript tests/reference/km.R
# Reads tests/reference/data/*.csv, writes tests/reference/data/km_random.csv (seeded, small
# random cohorts that hit the edge cases: ties, time 0, S = 1 rows, S = 0, plateaus at 0.5,
# clipped bands) and tests/reference/fixtures/km_*.json. R is not a test dependency: the
# outputs are committed.
#
# Each fixture entry is one curve (a dataset, its time and status columns, optionally one
# group of a grouping column) under one conf.type, with:
#   curve     survfit rows: time, n.risk, n.event, n.censor, surv, lower, upper;
#   median    quantile(fit, 0.5): median and its CI;
#   landmarks summary(fit, times = requested[requested <= max(fit$time)]) (R drops later
#             times with extend = FALSE); requested holds every time asked for;
#   reverse   quantile(survfit(Surv(time, 1 - status) ~ 1, conf.type), 0.5): reverse-KM
#             median potential follow-up and its CI.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)
conf_types <- c("log-log", "log", "plain")
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

median_ci <- function(fit) {
  q <- quantile(fit, 0.5)
  list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
}

# Landmarks: the fixed times, the middle distinct event time (a time exactly at an event),
# the last observed time and one beyond it (not estimable).
landmark_times <- function(time, status, fixed) {
  events <- sort(unique(time[status == 1]))
  middle <- if (length(events)) events[ceiling(length(events) / 2)] else numeric(0)
  sort(unique(c(fixed, middle, max(time), max(time) + 1)))
}

landmark_rows <- function(fit, requested) {
  kept <- requested[requested <= max(fit$time)]
  s <- summary(fit, times = kept)
  list(requested = requested, time = s$time, n_risk = s$n.risk, surv = s$surv,
       lower = s$lower, upper = s$upper)
}

curve_entry <- function(time, status, conf_type, fixed) {
  fit <- survfit(Surv(time, status) ~ 1, conf.type = conf_type)
  reverse <- survfit(Surv(time, 1 - status) ~ 1, conf.type = conf_type)
  list(
    conf_type = conf_type,
    curve = list(time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
                 n_censor = fit$n.censor, surv = fit$surv, lower = fit$lower,
                 upper = fit$upper),
    median = median_ci(fit),
    landmarks = landmark_rows(fit, landmark_times(time, status, fixed)),
    reverse = median_ci(reverse)
  )
}

# Entries for one time/status pair: overall (group_col NA) and/or per level of group_col.
entries <- function(d, time_col, status_col, group_col = NA, fixed = 0, overall = FALSE) {
  subsets <- list()
  if (overall) subsets[["all"]] <- rep(TRUE, nrow(d))
  if (!is.na(group_col)) {
    for (g in sort(unique(as.character(d[[group_col]])))) {
      subsets[[g]] <- as.character(d[[group_col]]) == g
    }
  }
  out <- list()
  for (g in names(subsets)) {
    rows <- subsets[[g]]
    for (ct in conf_types) {
      e <- curve_entry(d[[time_col]][rows], d[[status_col]][rows], ct, fixed)
      label <- list(time_col = time_col, status_col = status_col,
                    group_col = if (g == "all") NA else group_col, group = g)
      out[[length(out) + 1]] <- c(label, e)
    }
  }
  out
}

save <- function(name, data_file, x) {
  write_json(list(versions = versions, data = data_file, entries = x),
             file.path(out_dir, paste0("km_", name, ".json")), digits = NA,
             auto_unbox = TRUE, na = "null", pretty = TRUE)
}

read <- function(file) read.csv(file.path(data_dir, file), stringsAsFactors = FALSE)

# Seeded random small cohorts: integer times 0-6 (ties, time 0), 1-12 subjects, event
# probability 0 to 1 (curves that never drop, curves that reach 0).
set.seed(20240611)
random <- do.call(rbind, lapply(1:300, function(id) {
  n <- sample(1:12, 1)
  data.frame(dataset = id, time = sample(0:6, n, replace = TRUE),
             status = rbinom(n, 1, sample(c(0, 0.3, 0.6, 0.9, 1), 1)))
}))
write.csv(random, file.path(data_dir, "km_random.csv"), row.names = FALSE)

toy <- read("toy.csv")
save("toy", "toy.csv", entries(toy, "time", "status", "group", fixed = c(0, 1, 2, 2.5, 4)))

edge <- read("km_edge.csv")
save("edge", "km_edge.csv", entries(edge, "time", "status", "group", fixed = c(0, 1, 2.5, 4)))

save("random", "km_random.csv",
     entries(random, "time", "status", "dataset", fixed = c(0, 1, 2.5, 3)))

lung <- read("lung.csv")
save("lung", "lung.csv", entries(lung, "time", "status", "sex", fixed = c(0, 5, 180, 365, 730)))

veteran <- read("veteran.csv")
save("veteran", "veteran.csv",
     entries(veteran, "time", "status", "trt", fixed = c(0, 1, 90, 180, 365)))

months <- c(0, 6, 12, 24)
syn <- read("synthetic_400.csv")
save("synthetic_400", "synthetic_400.csv", c(
  entries(syn, "os_months", "os_event", "arm", fixed = months, overall = TRUE),
  entries(syn, "pfs_months", "pfs_event", "arm", fixed = months, overall = TRUE)
))

untied <- read("synthetic_untied_300.csv")
save("synthetic_untied_300", "synthetic_untied_300.csv",
     entries(untied, "os_months", "os_event", "arm", fixed = months))
