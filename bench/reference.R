# The benchmark's R reference: the analyses of the mgsurv workflow on the same cohort CSV,
# with the settings of config/config.yaml, written as an R analyst would, with R survival
# (>= 3.0) and base R graphics. It does the work of mgsurv's default run (the same models,
# the same grids, one PNG per figure of the report); the differences that remain are listed
# in bench/README.md.
#
#   Rscript bench/reference.R STAGE COHORT.csv WORKDIR
#
# STAGE is one of prepare, analyse_pfs, analyse_os, report, cox_fit, or all (every stage
# in this one process: the "workflow" of R). A single stage reads what the earlier stage
# saved in WORKDIR (cohort.rds, <endpoint>.rds: R's own uncompressed serialisation), as
# mgsurv's rules read the previous rule's files; the report reads only the endpoints' files
# (tables and the few cohort numbers it draws, never the patients). Each stage is timed with system.time
# (elapsed; R's start-up and library loading are outside it) and appended to
# WORKDIR/r_timings.tsv as "stage<TAB>seconds"; peak memory is measured from outside.
# data.table (reading and writing), maxstat (the cut-point) and mice (multiple imputation)
# are used when installed.
#
# What each stage does (mgsurv's counterpart in brackets):
#   prepare      read the CSV (data.table::fread when installed, else read.csv), keep the
#                analysable patients, empty covariates as missing, factor levels with the
#                configured references, Mg groups: clinical (< 0.70 mmol/L), sample
#                quartiles (type 7, closed right), data-driven cut-point
#                (maxstat::maxstat.test, log-rank, minprop 0.1, when maxstat is installed;
#                Lau92, Lau94 and naive p, every candidate cut), Mg in 0.02 mmol/L bins,
#                Table 1 by clinical group [prepare_cohort]
#   analyse_*    per endpoint (pfs, os), for all patients and within each arm, per grouping:
#                survfit (log-log CIs) with curves, medians and CIs, landmarks at 6/12/24
#                months, median follow-up (reverse KM), RMST per group at survRM2's
#                default tau (print.survfit rmean) with the difference, ratio and RMTL
#                ratio against the reference group; survdiff: log-rank, stratified by arm
#                (all patients), trend across quartiles, pairwise quartiles with Holm.
#                coxph (Efron): univariable for each term, multivariable (Mg group + arm +
#                age, sex, ecog, histology, pdl1), continuous Mg per 0.1 mmol/L,
#                stratified by arm, Mg x arm interaction and continuous Mg x arm (with the
#                Mg HR within each arm from each), per arm with the Mg group and with
#                continuous Mg, restricted cubic spline of Mg (4 knots, Harrell's basis)
#                with the LR test of non-linearity and the HR curve against 0.85 mmol/L
#                (1st to 99th percentile of Mg);
#                cox.zph (km transform) of the multivariable, continuous, stratified,
#                interaction and per-arm (Mg group) models, and of the multivariable model
#                per coefficient (terms = FALSE) for its residuals (at most 5,000 per
#                coefficient kept) and plot.cox.zph's smooth of each; when the PH test of
#                the Mg group has p < 0.05, the multivariable model with the low-Mg effect
#                split at the median event time (survSplit, start-stop coxph).
#                Sensitivity analyses: the threshold grid (the low-Mg HR with "low" below
#                each of 0.60, 0.61, ..., 0.85 mmol/L: the multivariable model of all
#                patients and each arm's model, 78 fits); subgroups (the low-Mg HR within
#                each level of each covariate, age split at its median, and of the arm,
#                with the LR test of Mg x subgroup); IPTW within each arm (propensity of
#                low Mg by glm(binomial) on the covariates, stabilised ATE weights as
#                WeightIt's, no trimming as configured, cobalt's standardised mean
#                differences before and after weighting, the weights' quantiles and
#                Kish's effective n, weighted Kaplan-Meier, coxph with the weights and
#                the robust SE); multiple imputation (mice, 20 imputations of 5
#                iterations within each arm, the multivariable and per-arm models pooled
#                by Rubin's rules) only when a covariate is partly missing. Every table
#                written as TSV (data.table::fwrite when installed, else write.table)
#                [analyse_endpoint, and render_report stacking them]
#   report       one PNG per figure of mgsurv's report, with base graphics: per endpoint
#                the Kaplan-Meier curves of the clinical Mg groups within each arm, the
#                forest plot of every low-Mg HR (with the Mg x arm interaction p), a
#                Kaplan-Meier plot per grouping (clinical, quartile; the cut-point's only
#                when it splits the patients otherwise than the threshold), the forest plot
#                of the multivariable model, the scaled Schoenfeld residuals (at most 1,000
#                drawn) with the smooth of every term whose PH test has p < 0.05, the spline
#                HR curve over the Mg distribution; on PFS the cut-point statistics, the
#                threshold grid beside the spline, the subgroup forest plot, the love plot,
#                the weights per arm and Mg group and the weighted Kaplan-Meier curves.
#                Curves drawn from at most two steps per 1/400 of the time axis and one
#                censor mark per 1/200, stopped below 10 patients at risk, with the
#                numbers at risk, events and censored under each. The E-value of the
#                primary HR (PFS, immunotherapy arm's model; VanderWeele & Ding, with the
#                square-root conversion of a common outcome) as a TSV [render_report,
#                which also writes PDFs, the rule graph and the self-contained HTML with
#                inline SVG]
#   cox_fit      coxph.fit alone (Efron, coxph.control() defaults, as coxph calls it) on the
#                multivariable PFS design matrix [mgsurv.stats.cox.fit_cox of that model]

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) {
  stop("usage: Rscript bench/reference.R STAGE COHORT.csv WORKDIR")
}
stage <- args[1]
csv <- args[2]
workdir <- args[3]
dir.create(workdir, showWarnings = FALSE, recursive = TRUE)

suppressPackageStartupMessages(library(survival))
has_data_table <- requireNamespace("data.table", quietly = TRUE)
has_maxstat <- requireNamespace("maxstat", quietly = TRUE)
has_mice <- requireNamespace("mice", quietly = TRUE)

# The settings of config/config.yaml.
THRESHOLD <- 0.70
ENDPOINTS <- c("pfs", "os")
PRIMARY_ENDPOINT <- "pfs"
CUTPOINT_ENDPOINT <- "pfs"
CUTPOINT_MINPROP <- 0.1
GROUPINGS <- c("mg_clinical", "mg_quartile", "mg_cutpoint")
COVARIATES <- c("age", "sex", "ecog", "histology", "pdl1")
REFERENCES <- list(sex = "male", ecog = "0", histology = "non-squamous", pdl1 = "<1%",
                   arm = "chemotherapy")
LEVELS <- list(pdl1 = c("<1%", "1-49%", ">=50%"))
IMMUNOTHERAPY <- "immunotherapy"
LANDMARKS <- c(6, 12, 24)
RISK_TIMES <- c(0, 6, 12, 18, 24, 30, 36)
SPLINE_REFERENCE <- 0.85
MIN_AT_RISK <- 10
THRESHOLD_GRID <- round(seq(0.60, 0.85, by = 0.01), 6)
SUBGROUPS <- TRUE
IPTW_TRIM_PERCENTILE <- NA  # e.g. 99: weights beyond the 1st and 99th percentiles trimmed
IMPUTATION <- list(m = 20, iterations = 5, seed = 2022)
# mgsurv's constants: PH flag, residuals kept and drawn, curve thinning, E-value, balance.
PH_ALPHA <- 0.05
SCHOENFELD_POINTS <- 5000
MAX_SCATTER_POINTS <- 1000
KM_DRAWN_BINS <- 400
KM_CENSOR_BINS <- 200
MG_BIN <- 0.02
COMMON_OUTCOME <- 0.15
BALANCED_SMD <- 0.1
Z <- stats::qnorm(0.975)

write_tsv <- function(table, path) {
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  if (has_data_table) {
    data.table::fwrite(table, path, sep = "\t", na = "NA")
  } else {
    utils::write.table(table, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
  }
}

read_cohort <- function(path) {
  if (has_data_table) {
    as.data.frame(data.table::fread(path, colClasses = list(character = "ecog")))
  } else {
    utils::read.csv(path, colClasses = c(ecog = "character"))
  }
}

timings <- file.path(workdir, "r_timings.tsv")
timed <- function(name, expr) {
  seconds <- system.time(value <- force(expr))[["elapsed"]]
  cat(sprintf("%s\t%.6f\n", name, seconds), file = timings, append = TRUE)
  value
}

# ---- prepare -------------------------------------------------------------------------

prepare <- function() {
  d <- read_cohort(csv)
  needed <- c("patient_id", "mg_mmol_l", "arm", "pfs_months", "pfs_event", "os_months",
              "os_event")
  missing <- setdiff(needed, names(d))
  if (length(missing)) stop("columns missing: ", paste(missing, collapse = ", "))
  if (anyDuplicated(d$patient_id)) stop("duplicated patient IDs")
  d <- d[complete.cases(d[needed]), ]
  if (any(d$pfs_months <= 0 | d$os_months <= 0)) stop("non-positive times")
  if (any(d$pfs_months > d$os_months)) stop("PFS longer than OS")
  if (any(d$mg_mmol_l < 0.1 | d$mg_mmol_l > 5)) stop("implausible Mg")
  for (v in names(REFERENCES)) {
    x <- as.character(d[[v]])
    x[!is.na(x) & x == ""] <- NA
    d[[v]] <- if (v %in% names(LEVELS)) {
      factor(x, levels = LEVELS[[v]])
    } else {
      stats::relevel(factor(x), ref = REFERENCES[[v]])
    }
  }
  d$mg_clinical <- factor(ifelse(d$mg_mmol_l < THRESHOLD, "low", "normal"),
                          levels = c("normal", "low"))
  edges <- stats::quantile(d$mg_mmol_l, c(0, 0.25, 0.5, 0.75, 1))
  d$mg_quartile <- cut(d$mg_mmol_l, edges, labels = paste0("Q", 1:4), include.lowest = TRUE)
  d$mg_per_0.1 <- d$mg_mmol_l / 0.1
  cutpoint <- NULL
  if (has_maxstat) {
    y <- Surv(d[[paste0(CUTPOINT_ENDPOINT, "_months")]],
              d[[paste0(CUTPOINT_ENDPOINT, "_event")]])
    found <- maxstat::maxstat.test(y ~ mg_mmol_l, data = d, smethod = "LogRank",
                                   pmethod = "Lau94", minprop = CUTPOINT_MINPROP,
                                   maxprop = 1 - CUTPOINT_MINPROP)
    d$mg_cutpoint <- factor(ifelse(d$mg_mmol_l <= found$estimate, "low", "high"),
                            levels = c("high", "low"))
    low <- d$mg_cutpoint == "low"
    statistic <- unname(found$statistic)
    summary <- data.frame(
      endpoint = CUTPOINT_ENDPOINT, cutpoint_mmol_l = unname(found$estimate),
      statistic = statistic,
      p_lau92 = maxstat::pLausen92(statistic, CUTPOINT_MINPROP, 1 - CUTPOINT_MINPROP),
      p_lau94 = found$p.value, p_naive = 2 * stats::pnorm(-abs(statistic)),
      minprop = CUTPOINT_MINPROP, maxprop = 1 - CUTPOINT_MINPROP, n_low = sum(low),
      n_high = sum(!low), events_low = sum(y[low, 2]), events_high = sum(y[!low, 2]),
      same_split_as_threshold = identical(low, d$mg_clinical == "low")
    )
    candidates <- data.frame(cut = found$cuts, statistic = found$stats,
                             n_low = vapply(found$cuts, function(cut) sum(d$mg_mmol_l <= cut),
                                            0L))
    candidates$n_high <- nrow(d) - candidates$n_low
    write_tsv(summary, file.path(workdir, "tables", "cutpoint.tsv"))
    write_tsv(candidates, file.path(workdir, "tables", "cutpoint_candidates.tsv"))
    cutpoint <- list(summary = summary, candidates = candidates)
  } else {
    d$mg_cutpoint <- factor(NA, levels = c("high", "low"))
  }
  bins <- table(floor(d$mg_mmol_l / MG_BIN + 1e-9))
  distribution <- data.frame(mg_mmol_l = round((as.integer(names(bins)) + 0.5) * MG_BIN, 6),
                             n = as.vector(bins))
  write_tsv(distribution, file.path(workdir, "tables", "mg_distribution.tsv"))
  baseline <- do.call(rbind, lapply(c(COVARIATES, "arm"), function(v) {
    if (is.numeric(d[[v]])) {
      q <- tapply(d[[v]], d$mg_clinical, stats::quantile, c(0.25, 0.5, 0.75), na.rm = TRUE)
      data.frame(variable = v, level = "median [IQR]", group = names(q),
                 value = vapply(q, function(x) sprintf("%.1f [%.1f, %.1f]", x[2], x[1], x[3]),
                                ""))
    } else {
      counts <- table(d[[v]], d$mg_clinical)
      share <- prop.table(counts, 2)
      data.frame(variable = v, level = rep(rownames(counts), ncol(counts)),
                 group = rep(colnames(counts), each = nrow(counts)),
                 value = sprintf("%d (%.1f%%)", as.vector(counts), 100 * as.vector(share)))
    }
  }))
  write_tsv(baseline, file.path(workdir, "tables", "baseline.tsv"))
  # What the report needs of the cohort, small, so that it never reads the patients.
  list(data = d, summary = list(cutpoint = cutpoint, distribution = distribution))
}

# ---- analyse one endpoint ------------------------------------------------------------

coef_table <- function(fit, model) {
  s <- summary(fit)$coefficients
  ci <- suppressWarnings(stats::confint(fit))
  data.frame(model = model, term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"],
             hr = exp(s[, "coef"]), hr_lower = exp(ci[, 1]), hr_upper = exp(ci[, 2]),
             z = s[, "z"], p = s[, "Pr(>|z|)"], n = fit$n, events = fit$nevent,
             row.names = NULL)
}

model_row <- function(fit, model) {
  lr <- 2 * diff(fit$loglik)
  df <- sum(!is.na(stats::coef(fit)))
  data.frame(model = model, n = fit$n, events = fit$nevent,
             events_per_parameter = fit$nevent / df,
             concordance = unname(fit$concordance["concordance"]),
             loglik = fit$loglik[2], lr = lr, df = df,
             p = stats::pchisq(lr, df, lower.tail = FALSE))
}

zph_table <- function(zph, model) {
  data.frame(model = model, term = rownames(zph$table), chi2 = zph$table[, "chisq"],
             df = zph$table[, "df"], p = zph$table[, "p"], row.names = NULL)
}

# An estimate from its log-HR and SE, as a row of the cox table's columns.
estimate_row <- function(model, term, est, se, n, events) {
  data.frame(model = model, term = term, coef = est, se = se, hr = exp(est),
             hr_lower = exp(est - Z * se), hr_upper = exp(est + Z * se), z = est / se,
             p = 2 * stats::pnorm(-abs(est / se)), n = n, events = events)
}

# From an Mg x arm interaction model: the Mg term's log-HR within each arm (main effect +
# that arm's interaction coefficient).
within_arms <- function(fit, key, model, arms) {
  beta <- stats::coef(fit)
  do.call(rbind, lapply(arms, function(arm) {
    w <- stats::setNames(numeric(length(beta)), names(beta))
    w[key] <- 1
    extra <- paste0(key, ":arm", arm)
    if (extra %in% names(w)) w[extra] <- 1
    estimate_row(model, paste0(key, " within arm=", arm), sum(w * beta),
                 sqrt(drop(t(w) %*% stats::vcov(fit) %*% w)), fit$n, fit$nevent)
  }))
}

# The low-vs-normal row of a model (NA when a group is empty or the fit fails).
low_mg <- function(fit) {
  if (is.null(fit) || is.na(stats::coef(fit)["mg_clinicallow"])) {
    return(list(hr = NA, hr_lower = NA, hr_upper = NA, p = NA,
                n = if (is.null(fit)) NA else fit$n,
                events = if (is.null(fit)) NA else fit$nevent))
  }
  s <- summary(fit)$coefficients["mg_clinicallow", ]
  list(hr = exp(s[["coef"]]), hr_lower = exp(s[["coef"]] - Z * s[["se(coef)"]]),
       hr_upper = exp(s[["coef"]] + Z * s[["se(coef)"]]), p = s[["Pr(>|z|)"]], n = fit$n,
       events = fit$nevent)
}

# Harrell's restricted cubic spline basis (Hmisc::rcspline.eval, norm = 2), 4 knots at the
# 5th, 35th, 65th and 95th percentiles.
rcs_knots <- function(x) unname(stats::quantile(x, c(0.05, 0.35, 0.65, 0.95)))
rcs_basis <- function(x, knots) {
  k <- length(knots)
  scale <- (knots[k] - knots[1])^2
  pos3 <- function(u) pmax(u, 0)^3
  basis <- sapply(seq_len(k - 2), function(j) {
    (pos3(x - knots[j]) -
       pos3(x - knots[k - 1]) * (knots[k] - knots[j]) / (knots[k] - knots[k - 1]) +
       pos3(x - knots[k]) * (knots[k - 1] - knots[j]) / (knots[k] - knots[k - 1])) / scale
  })
  cbind(mg = x, matrix(basis, ncol = k - 2, dimnames = list(NULL, paste0("mg_s", 1:(k - 2)))))
}

# plot.cox.zph's smooth of each column of a cox.zph's residuals (natural spline, 4 df,
# 40 points) with its +-2 SE band, the months at each point and the Cox coefficient.
zph_smooth <- function(zph, coefficients, df = 4, nsmo = 40) {
  xx <- zph$x
  pred <- seq(min(xx), max(xx), length.out = nsmo)
  lmat <- splines::ns(c(pred, xx), df = df, intercept = TRUE)
  pmat <- lmat[seq_len(nsmo), ]
  xmat <- lmat[-seq_len(nsmo), ]
  first <- !duplicated(xx)
  months <- stats::approx(xx[first], zph$time[first], pred)$y
  do.call(rbind, lapply(seq_len(ncol(zph$y)), function(i) {
    y <- zph$y[, i]
    keep <- !is.na(y)
    qmat <- qr(xmat[keep, ])
    if (qmat$rank < df) return(NULL)
    fit <- drop(pmat %*% qr.coef(qmat, y[keep]))
    bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
    band <- 2 * sqrt(zph$var[i, i] * rowSums((pmat %*% (bk %*% t(bk))) * pmat))
    data.frame(term = colnames(zph$y)[i], transformed_time = pred, time = months, fit = fit,
               lower = fit - band, upper = fit + band, coef = coefficients[[i]])
  }))
}

# survRM2's default tau over every pair of groups: the later last time when both curves
# reach 0, else the last time of the group whose last patient is censored (the earlier
# one when both are); the smallest over the pairs.
rmst_tau <- function(y, g) {
  groups <- levels(droplevels(g))
  last <- vapply(groups, function(l) max(y[g == l, 1]), 0)
  zero <- vapply(groups, function(l) {
    ours <- y[g == l]
    all(ours[ours[, 1] == last[[l]], 2] == 1)
  }, TRUE)
  pairs <- utils::combn(seq_along(groups), 2)
  min(apply(pairs, 2, function(p) {
    if (all(zero[p])) max(last[p]) else if (!any(zero[p])) min(last[p]) else last[p][!zero[p]]
  }))
}

logrank_tables <- function(y, d, grouping, stratify) {
  g <- d[[grouping]]
  rows <- list()
  test <- survdiff(y ~ g)
  df <- length(test$n) - 1
  rows[[1]] <- data.frame(test = "logrank", groups = "all", statistic = test$chisq, df = df,
                          p = stats::pchisq(test$chisq, df, lower.tail = FALSE))
  if (stratify) {
    stratified <- survdiff(y ~ g + strata(d$arm))
    rows[[2]] <- data.frame(test = "stratified", groups = "all",
                            statistic = stratified$chisq, df = df,
                            p = stats::pchisq(stratified$chisq, df, lower.tail = FALSE))
  }
  if (nlevels(droplevels(g)) > 2) {
    w <- seq_along(test$n)
    o_e <- test$obs - test$exp
    trend <- sum(w * o_e)^2 / drop(t(w) %*% test$var %*% w)
    rows[[3]] <- data.frame(test = "trend", groups = "all", statistic = trend, df = 1,
                            p = stats::pchisq(trend, 1, lower.tail = FALSE))
    pairs <- utils::combn(levels(g), 2)
    pairwise <- do.call(rbind, lapply(seq_len(ncol(pairs)), function(j) {
      keep <- g %in% pairs[, j]
      pair <- survdiff(y[keep] ~ droplevels(g[keep]))
      data.frame(test = "pairwise", groups = paste(pairs[, j], collapse = " vs "),
                 statistic = pair$chisq, df = 1,
                 p = stats::pchisq(pair$chisq, 1, lower.tail = FALSE))
    }))
    pairwise$p_adjusted <- stats::p.adjust(pairwise$p, "holm")
    rows[[4]] <- pairwise
  }
  rows <- lapply(Filter(Negate(is.null), rows), function(r) {
    if (is.null(r$p_adjusted)) r$p_adjusted <- NA
    r
  })
  cbind(grouping = grouping, do.call(rbind, rows))
}

rmst_rows <- function(table, groups, tau) {
  rmst <- table[, "rmean"]
  se <- table[, "se(rmean)"]
  rows <- data.frame(group = groups, tau = tau, estimate = rmst, se = se,
                     lower = rmst - Z * se, upper = rmst + Z * se, p = NA)
  contrast <- function(name, est, se, log_scale) {
    z <- est / se
    data.frame(group = name, tau = tau, estimate = if (log_scale) exp(est) else est,
               se = se,
               lower = if (log_scale) exp(est - Z * se) else est - Z * se,
               upper = if (log_scale) exp(est + Z * se) else est + Z * se,
               p = 2 * stats::pnorm(-abs(z)))
  }
  for (i in seq_along(groups)[-1]) {
    versus <- paste(groups[i], groups[1], sep = " vs ")
    lost <- tau - rmst
    rows <- rbind(
      rows,
      contrast(sub(" vs ", " - ", versus), rmst[i] - rmst[1], sqrt(se[i]^2 + se[1]^2), FALSE),
      contrast(sub(" vs ", " / ", versus), log(rmst[i] / rmst[1]),
               sqrt((se[i] / rmst[i])^2 + (se[1] / rmst[1])^2), TRUE),
      contrast(paste("RMTL", sub(" vs ", " / ", versus)), log(lost[i] / lost[1]),
               sqrt((se[i] / lost[i])^2 + (se[1] / lost[1])^2), TRUE)
    )
  }
  rows
}

km_tables <- function(y, d, grouping, stratify) {
  fit <- survfit(y ~ d[[grouping]], conf.type = "log-log")
  groups <- sub(".*=", "", names(fit$strata))
  s <- summary(fit, censored = TRUE)
  curves <- data.frame(grouping = grouping, group = sub(".*=", "", s$strata), time = s$time,
                       n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                       surv = s$surv, lower = s$lower, upper = s$upper)
  tau <- rmst_tau(y, d[[grouping]])
  table <- summary(fit, rmean = tau)$table
  summary_rows <- data.frame(grouping = grouping, group = groups,
                             n = table[, "records"], events = table[, "events"],
                             median = table[, "median"], median_lower = table[, "0.95LCL"],
                             median_upper = table[, "0.95UCL"], row.names = NULL)
  at <- summary(fit, times = LANDMARKS, extend = FALSE)
  landmarks <- data.frame(grouping = grouping, group = sub(".*=", "", at$strata),
                          time = at$time, surv = at$surv, lower = at$lower, upper = at$upper)
  reverse <- survfit(Surv(y[, 1], 1 - y[, 2]) ~ d[[grouping]], conf.type = "log-log")
  followup <- summary(reverse)$table
  followup <- data.frame(grouping = grouping, group = sub(".*=", "", rownames(followup)),
                         median_followup = followup[, "median"],
                         lower = followup[, "0.95LCL"], upper = followup[, "0.95UCL"],
                         row.names = NULL)
  list(curves = curves, summary = summary_rows, landmarks = landmarks, followup = followup,
       logrank = logrank_tables(y, d, grouping, stratify),
       rmst = cbind(grouping = grouping, rmst_rows(table, groups, tau)))
}

# Kaplan-Meier, log-rank and RMST tables of one subset (all patients or one arm).
survival_tables <- function(y, d, subset, groupings) {
  km <- lapply(stats::setNames(groupings, groupings),
               function(g) km_tables(y, d, g, nlevels(droplevels(d$arm)) > 1))
  overall <- summary(survfit(Surv(y[, 1], 1 - y[, 2]) ~ 1, conf.type = "log-log"))$table
  tables <- list(
    km_curves = do.call(rbind, lapply(km, `[[`, "curves")),
    km_summary = do.call(rbind, lapply(km, `[[`, "summary")),
    landmarks = do.call(rbind, lapply(km, `[[`, "landmarks")),
    followup = rbind(data.frame(grouping = "all", group = "all",
                                median_followup = overall[["median"]],
                                lower = overall[["0.95LCL"]], upper = overall[["0.95UCL"]]),
                     do.call(rbind, lapply(km, `[[`, "followup"))),
    logrank = do.call(rbind, lapply(km, `[[`, "logrank")),
    rmst = do.call(rbind, lapply(km, `[[`, "rmst"))
  )
  lapply(tables, function(table) cbind(subset = subset, table, row.names = NULL))
}

# The adjusted low-Mg HR with "low" below each threshold of the grid: the multivariable
# model of all patients and each arm's own model (complete cases of each).
threshold_grid <- function(y, d, covariates) {
  subsets <- c(list(all = list(rows = rep(TRUE, nrow(d)), rhs = paste("arm +", covariates))),
               lapply(stats::setNames(levels(d$arm), paste0("arm=", levels(d$arm))),
                      function(arm) list(rows = d$arm == arm, rhs = covariates)))
  do.call(rbind, lapply(names(subsets), function(subset) {
    rows <- subsets[[subset]]$rows & stats::complete.cases(d[c("arm", COVARIATES)])
    patients <- d[rows, ]
    yy <- y[rows]
    f <- stats::as.formula(paste("yy ~ mg_clinical +", subsets[[subset]]$rhs))
    do.call(rbind, lapply(THRESHOLD_GRID, function(threshold) {
      patients$mg_clinical <- factor(patients$mg_mmol_l < threshold, levels = c(FALSE, TRUE),
                                     labels = c("normal", "low"))
      n_low <- sum(patients$mg_clinical == "low")
      fit <- if (n_low > 0 && n_low < nrow(patients)) coxph(f, data = patients) else NULL
      data.frame(subset = subset, threshold_mmol_l = threshold, n_low = n_low,
                 n_normal = nrow(patients) - n_low, low_mg(fit))
    }))
  }))
}

# Each patient's subgroup of one variable as text: a factor's level, or the side of its
# median for a numeric one (below it, or at or above; at or below, above when nothing is
# below the median).
subgroup_levels <- function(x) {
  if (!is.numeric(x)) return(droplevels(x))
  m <- stats::median(x, na.rm = TRUE)
  shown <- as.character(m)
  if (any(x < m, na.rm = TRUE)) {
    factor(ifelse(x < m, paste("below", shown), paste(shown, "or above")),
           levels = c(paste("below", shown), paste(shown, "or above")))
  } else {
    factor(ifelse(x <= m, paste(shown, "or below"), paste("above", shown)),
           levels = c(paste(shown, "or below"), paste("above", shown)))
  }
}

# The low-Mg HR within each level of each covariate and of the arm, with the LR test of
# Mg x subgroup (on the patients with the variable recorded).
subgroup_table <- function(y, d) {
  do.call(rbind, lapply(c(COVARIATES, "arm"), function(v) {
    subgroup <- subgroup_levels(d[[v]])
    if (nlevels(subgroup) < 2) return(NULL)
    used <- !is.na(subgroup)
    yy <- y[used]
    patients <- data.frame(mg_clinical = d$mg_clinical[used], subgroup = subgroup[used])
    main <- coxph(yy ~ mg_clinical + subgroup, data = patients)
    full <- coxph(yy ~ mg_clinical * subgroup, data = patients)
    added <- sum(!is.na(stats::coef(full))) - sum(!is.na(stats::coef(main)))
    interaction_p <- stats::pchisq(2 * (full$loglik[2] - main$loglik[2]), added,
                                   lower.tail = FALSE)
    do.call(rbind, lapply(levels(subgroup), function(level) {
      mine <- used & subgroup == level
      ym <- y[mine]
      both <- nlevels(droplevels(d$mg_clinical[mine])) == 2
      fit <- if (both) coxph(ym ~ mg_clinical, data = d[mine, ]) else NULL
      data.frame(variable = v, level = level, low_mg(fit), interaction_p = interaction_p)
    }))
  }))
}

# cobalt's standardised mean difference of each covariate column (exposed minus
# unexposed), weighted means over the pooled unweighted SD (p (1 - p) for a 0/1 column).
balance_columns <- function(d) {
  columns <- list()
  for (v in COVARIATES) {
    if (is.numeric(d[[v]])) {
      columns[[v]] <- list(variable = v, level = "", x = d[[v]])
      next
    }
    levels <- levels(droplevels(d[[v]]))
    if (length(levels) == 2) levels <- setdiff(levels, REFERENCES[[v]])[1]
    for (level in levels) {
      columns[[paste(v, level)]] <- list(variable = v, level = level,
                                         x = as.numeric(d[[v]] == level))
    }
  }
  columns
}

smd <- function(x, low, w) {
  binary <- all(x %in% c(0, 1))
  variance <- function(v) if (binary) mean(v) * (1 - mean(v)) else stats::var(v)
  difference <- stats::weighted.mean(x[low], w[low]) - stats::weighted.mean(x[!low], w[!low])
  pooled <- sqrt((variance(x[low]) + variance(x[!low])) / 2)
  if (abs(difference) < 1e-12) 0 else difference / pooled
}

# Inverse probability of treatment weighting of low vs normal Mg within each arm.
iptw_tables <- function(y, d, covariates) {
  out <- list(cox = list(), balance = list(), weights = list(), km = list())
  for (arm in levels(d$arm)) {
    subset <- paste0("arm=", arm)
    rows <- d$arm == arm & stats::complete.cases(d[COVARIATES])
    patients <- d[rows, ]
    yy <- y[rows]
    low <- patients$mg_clinical == "low"
    note <- function(why) {
      data.frame(subset = subset, coef = NA, naive_se = NA, robust_se = NA, hr = NA,
                 hr_lower = NA, hr_upper = NA, p = NA, n = nrow(patients),
                 events = sum(yy[, 2]), note = why)
    }
    if (sum(low) < 2 || sum(!low) < 2) {
      out$cox[[arm]] <- note("fewer than two patients in an Mg group")
      next
    }
    propensity <- suppressWarnings(
      stats::glm(stats::as.formula(paste("low ~", covariates)), family = stats::binomial(),
                 data = patients)
    )
    score <- stats::fitted(propensity)
    if (!propensity$converged || any(score < 1e-8 | score > 1 - 1e-8)) {
      out$cox[[arm]] <- note("the propensity model separates the groups")
      next
    }
    share <- mean(low)
    w <- ifelse(low, share / score, (1 - share) / (1 - score))
    trimmed <- rep(FALSE, length(w))
    if (!is.na(IPTW_TRIM_PERCENTILE)) {
      limits <- stats::quantile(w, c(100 - IPTW_TRIM_PERCENTILE, IPTW_TRIM_PERCENTILE) / 100,
                                type = 3)
      untrimmed <- w
      w <- pmin(pmax(w, limits[1]), limits[2])
      trimmed <- w != untrimmed
    }
    columns <- balance_columns(patients)
    out$balance[[arm]] <- data.frame(
      subset = subset, variable = vapply(columns, `[[`, "", "variable"),
      level = vapply(columns, `[[`, "", "level"),
      smd = vapply(columns, function(col) smd(col$x, low, rep(1, length(w))), 0),
      smd_weighted = vapply(columns, function(col) smd(col$x, low, w), 0), row.names = NULL
    )
    group <- factor(ifelse(low, "low", "normal"), levels = c("normal", "low"))
    out$weights[[arm]] <- do.call(rbind, lapply(levels(group), function(g) {
      mine <- w[group == g]
      q <- stats::quantile(mine, c(0, 0.25, 0.5, 0.75, 1), names = FALSE)
      data.frame(subset = subset, group = g, n = length(mine),
                 effective_n = sum(mine)^2 / sum(mine^2), min = q[1], q1 = q[2], median = q[3],
                 q3 = q[4], max = q[5], n_trimmed = sum(trimmed[group == g]))
    }))
    weighted <- summary(survfit(yy ~ group, weights = w), censored = TRUE)
    counted <- summary(survfit(yy ~ group), censored = TRUE)
    out$km[[arm]] <- data.frame(subset = subset, group = sub(".*=", "", weighted$strata),
                                time = weighted$time, n_risk = weighted$n.risk,
                                n_event = weighted$n.event, surv = weighted$surv,
                                patients_at_risk = counted$n.risk,
                                patients_with_event = counted$n.event,
                                patients_censored = counted$n.censor)
    fit <- coxph(yy ~ low, weights = w, robust = TRUE)
    s <- summary(fit)$coefficients
    out$cox[[arm]] <- data.frame(
      subset = subset, coef = s[1, "coef"], naive_se = s[1, "se(coef)"],
      robust_se = s[1, "robust se"], hr = exp(s[1, "coef"]),
      hr_lower = exp(s[1, "coef"] - Z * s[1, "robust se"]),
      hr_upper = exp(s[1, "coef"] + Z * s[1, "robust se"]), p = s[1, "Pr(>|z|)"],
      n = fit$n, events = fit$nevent, note = ""
    )
  }
  lapply(out, function(parts) do.call(rbind, unname(parts)))
}

# Multiple imputation of the partly missing covariates (mice, within each arm, from each
# other, serum Mg and both endpoints' events and Nelson-Aalen hazards), the multivariable
# and per-arm models refitted on each and pooled by Rubin's rules; NULL when nothing is
# missing (or mice is not installed).
imputation_table <- function(y, d, covariates) {
  missing <- vapply(COVARIATES, function(v) anyNA(d[[v]]) && !all(is.na(d[[v]])), TRUE)
  if (is.null(IMPUTATION) || !any(missing)) return(NULL)
  if (!has_mice) {
    message("covariates are missing but mice is not installed: no multiple imputation")
    return(NULL)
  }
  completed <- lapply(seq_along(levels(d$arm)), function(i) {
    rows <- which(d$arm == levels(d$arm)[i])
    part <- d[rows, ]
    frame <- cbind(part[COVARIATES], mg = part$mg_mmol_l,
                   pfs_event = part$pfs_event,
                   pfs_hazard = mice::nelsonaalen(part, pfs_months, pfs_event),
                   os_event = part$os_event,
                   os_hazard = mice::nelsonaalen(part, os_months, os_event))
    imputed <- mice::mice(frame, m = IMPUTATION$m, maxit = IMPUTATION$iterations,
                          seed = IMPUTATION$seed + i - 1, printFlag = FALSE)
    list(rows = rows, data = mice::complete(imputed, "all"))
  })
  models <- c(list(multivariable = list(rows = rep(TRUE, nrow(d)),
                                        rhs = paste("mg_clinical + arm +", covariates))),
              lapply(stats::setNames(levels(d$arm), paste0("arm=", levels(d$arm))),
                     function(arm) list(rows = d$arm == arm,
                                        rhs = paste("mg_clinical +", covariates))))
  fits <- lapply(models, function(m) list())
  for (k in seq_len(IMPUTATION$m)) {
    data_k <- d
    for (arm in completed) data_k[arm$rows, COVARIATES] <- arm$data[[k]][COVARIATES]
    for (name in names(models)) {
      rows <- models[[name]]$rows
      yy <- y[rows]
      fits[[name]][[k]] <- coxph(stats::as.formula(paste("yy ~", models[[name]]$rhs)),
                                 data = data_k[rows, ])
    }
  }
  do.call(rbind, lapply(names(models), function(name) {
    pooled <- mice::pool(mice::as.mira(fits[[name]]))
    s <- summary(pooled, conf.int = TRUE)
    data.frame(model = name, term = as.character(s$term), coef = s$estimate,
               se = s$std.error, hr = exp(s$estimate), hr_lower = exp(s[["2.5 %"]]),
               hr_upper = exp(s[["97.5 %"]]), p = s$p.value, df = s$df,
               fmi = pooled$pooled$fmi, m = IMPUTATION$m, n = fits[[name]][[1]]$n,
               events = fits[[name]][[1]]$nevent)
  }))
}

# The multivariable model with the low-Mg effect split at the median event time t
# (episodes (0, t] and (t, ...) by survSplit), when its PH test of the Mg group fails.
time_split_model <- function(y, d, covariates) {
  cut <- round(stats::median(y[y[, 2] == 1, 1]), 1)
  if (!any(y[, 1] <= cut & y[, 2] == 1) || !any(y[, 1] > cut & y[, 2] == 1)) return(NULL)
  frame <- data.frame(time = y[, 1], event = y[, 2], d[c("mg_clinical", "arm", COVARIATES)])
  episodes <- survSplit(Surv(time, event) ~ ., data = frame, cut = cut, episode = "period")
  low <- episodes$mg_clinical == "low"
  episodes$early <- as.numeric(low & episodes$period == 1)
  episodes$late <- as.numeric(low & episodes$period == 2)
  fit <- coxph(stats::as.formula(paste("Surv(tstart, time, event) ~ early + late + arm +",
                                       covariates)), data = episodes)
  rows <- coef_table(fit, "time-split")
  rows$term[1:2] <- sprintf(c("mg_clinical[low vs normal] in (0, %g] months",
                              "mg_clinical[low vs normal] after %g months"), cut)
  rows$n <- nrow(d)
  rows
}

analyse <- function(prepared, endpoint) {
  d <- prepared$data
  y <- Surv(d[[paste0(endpoint, "_months")]], d[[paste0(endpoint, "_event")]])
  groupings <- GROUPINGS[vapply(GROUPINGS, function(g) any(!is.na(d[[g]])), TRUE)]
  arms <- levels(d$arm)
  survival <- list(survival_tables(y, d, "all", groupings))
  for (arm in arms) {
    keep <- d$arm == arm
    survival[[arm]] <- survival_tables(y[keep], d[keep, ], paste0("arm=", arm), groupings)
  }
  survival <- lapply(stats::setNames(names(survival[[1]]), names(survival[[1]])),
                     function(name) do.call(rbind, lapply(survival, `[[`, name)))
  covariates <- paste(COVARIATES, collapse = " + ")
  f <- function(rhs) stats::as.formula(paste("y ~", rhs))
  models <- list()
  for (term in c(groupings, "mg_per_0.1", "arm", COVARIATES)) {
    models[[paste0("univariable:", term)]] <- coxph(f(term), data = d)
  }
  models$multivariable <- coxph(f(paste("mg_clinical + arm +", covariates)), data = d)
  models$continuous <- coxph(f(paste("mg_per_0.1 + arm +", covariates)), data = d)
  models$stratified <- coxph(f(paste("mg_clinical +", covariates, "+ strata(arm)")), data = d)
  models$interaction <- coxph(f(paste("mg_clinical * arm +", covariates)), data = d)
  models[["continuous-interaction"]] <- coxph(f(paste("mg_per_0.1 * arm +", covariates)),
                                              data = d)
  # Each arm's models in a frame of their own: cox.zph evaluates a model's formula again
  # in it, which must still hold that arm's patients.
  arm_model <- function(arm, key) {
    keep <- d$arm == arm
    ya <- y[keep]
    patients <- d[keep, ]
    coxph(stats::as.formula(paste("ya ~", key, "+", covariates)), data = patients)
  }
  for (arm in arms) {
    models[[paste0("arm=", arm)]] <- arm_model(arm, "mg_clinical")
    models[[paste0("continuous arm=", arm)]] <- arm_model(arm, "mg_per_0.1")
  }
  zph <- list()
  for (model in c("multivariable", "continuous", "stratified", "interaction",
                  paste0("arm=", arms))) {
    zph[[model]] <- cox.zph(models[[model]], transform = "km")
  }
  within <- rbind(within_arms(models$interaction, "mg_clinicallow", "interaction", arms),
                  within_arms(models[["continuous-interaction"]], "mg_per_0.1",
                              "continuous-interaction", arms))
  # The multivariable model's residuals per coefficient (the PH figures' panels): at most
  # SCHOENFELD_POINTS per coefficient, evenly spaced in time; the smooth uses them all.
  multivariable <- models$multivariable
  per_coefficient <- cox.zph(multivariable, transform = "km", terms = FALSE)
  term_of <- rep(names(multivariable$assign), lengths(multivariable$assign))
  kept <- unique(round(seq(1, length(per_coefficient$x),
                           length.out = min(length(per_coefficient$x), SCHOENFELD_POINTS))))
  schoenfeld <- data.frame(
    variable = rep(term_of, each = length(kept)),
    term = rep(colnames(per_coefficient$y), each = length(kept)),
    time = per_coefficient$time[kept], transformed_time = per_coefficient$x[kept],
    residual = as.vector(per_coefficient$y[kept, ]), residuals = length(per_coefficient$x)
  )
  smooth <- zph_smooth(per_coefficient, stats::coef(multivariable))
  smooth$variable <- term_of[match(smooth$term, colnames(per_coefficient$y))]
  rm(per_coefficient)
  split <- NULL
  if (zph$multivariable$table["mg_clinical", "p"] < PH_ALPHA) {
    split <- time_split_model(y, d, covariates)
  }
  # Restricted cubic spline of Mg, adjusted like the multivariable model.
  knots <- rcs_knots(d$mg_mmol_l)
  basis <- rcs_basis(d$mg_mmol_l, knots)
  adjusting <- stats::as.formula(paste("~ arm +", covariates))
  # rows with a missing covariate kept (as NA), so that coxph drops them with y's
  adjust <- stats::model.matrix(adjusting, stats::model.frame(adjusting, d,
                                                              na.action = stats::na.pass))[, -1]
  spline <- coxph(y ~ basis + adjust)
  linear <- coxph(y ~ basis[, 1] + adjust)
  nonlinear_lr <- 2 * (spline$loglik[2] - linear$loglik[2])
  limits <- stats::quantile(d$mg_mmol_l, c(0.01, 0.99), names = FALSE)
  grid <- sort(unique(c(seq(limits[1], limits[2], length.out = 100), SPLINE_REFERENCE)))
  contrast <- sweep(rcs_basis(grid, knots), 2, drop(rcs_basis(SPLINE_REFERENCE, knots)))
  k <- ncol(basis)
  lp <- drop(contrast %*% stats::coef(spline)[1:k])
  se <- sqrt(rowSums((contrast %*% stats::vcov(spline)[1:k, 1:k]) * contrast))
  spline_curve <- data.frame(mg_mmol_l = grid, hr = exp(lp), hr_lower = exp(lp - Z * se),
                             hr_upper = exp(lp + Z * se))
  iptw <- iptw_tables(y, d, covariates)
  tables <- c(survival, list(
    cox = rbind(do.call(rbind, Map(coef_table, models, sub(":.*", "", names(models)))),
                within, coef_table(spline, "spline"), split),
    cox_models = rbind(do.call(rbind, Map(model_row, models, names(models))),
                       model_row(spline, "spline")),
    ph_test = do.call(rbind, Map(zph_table, zph, names(zph))),
    schoenfeld = schoenfeld,
    schoenfeld_smooth = smooth,
    spline = spline_curve,
    nonlinearity = data.frame(knots = paste(signif(knots, 4), collapse = ", "),
                              reference_mmol_l = SPLINE_REFERENCE, statistic = nonlinear_lr,
                              df = k - 1,
                              p = stats::pchisq(nonlinear_lr, k - 1, lower.tail = FALSE)),
    thresholds = if (length(THRESHOLD_GRID)) threshold_grid(y, d, covariates),
    subgroups = if (SUBGROUPS) subgroup_table(y, d),
    iptw_cox = iptw$cox, iptw_balance = iptw$balance, iptw_weights = iptw$weights,
    iptw_km = iptw$km,
    imputation = imputation_table(y, d, covariates)
  ))
  for (name in names(tables)) {
    if (is.null(tables[[name]])) next
    write_tsv(cbind(endpoint = endpoint, tables[[name]]),
              file.path(workdir, "endpoints", endpoint, paste0(name, ".tsv")))
  }
  # What the report draws: tables only (no fits, no patients).
  drawn <- c("km_curves", "km_summary", "logrank", "cox", "ph_test", "schoenfeld",
             "schoenfeld_smooth", "spline", "thresholds", "subgroups", "iptw_cox",
             "iptw_balance", "iptw_weights", "iptw_km")
  c(tables[drawn], list(endpoint = endpoint, cohort = prepared$summary,
                        levels = lapply(d[c("mg_clinical", "arm", COVARIATES)], levels)))
}

# ---- report: figures with base graphics ----------------------------------------------

COLOURS <- c("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
LABELS <- c(mg_clinical = "Serum Mg group", mg_quartile = "Serum Mg quartile",
            mg_cutpoint = "Serum Mg cut-point", arm = "Treatment arm", age = "Age", sex = "Sex",
            ecog = "ECOG PS", histology = "Histology", pdl1 = "PD-L1 TPS")
ENDPOINT_LABELS <- c(pfs = "Progression-free survival", os = "Overall survival")

png_file <- function(figures, name, width, height) {
  grDevices::png(file.path(figures, paste0(name, ".png")), width = width, height = height,
                 units = "in", res = 200)
}

format_p <- function(p) {
  if (is.na(p)) "p = NA" else if (p < 0.001) "p < 0.001" else sprintf("p = %.2g", p)
}
p_text <- function(p) ifelse(is.na(p), "NA", ifelse(p < 0.001, "<0.001", sprintf("%.2g", p)))

# The rows of a step curve worth drawing: in each of `bins` equal bins of (0, stop], the
# first row and (`last`) the last one; every row when there are no more rows than bins.
drawn_steps <- function(steps, stop, bins = KM_DRAWN_BINS, last = TRUE) {
  if (nrow(steps) <= bins || !(stop > 0)) return(steps)
  position <- pmin(floor(steps$time / stop * bins), bins - 1)
  first <- c(TRUE, position[-1] != position[-length(position)])
  steps[if (last) first | c(first[-1], TRUE) else first, ]
}

# The last time with at least MIN_AT_RISK patients at risk (NA: never that many).
truncation_time <- function(curve) {
  kept <- curve$time[curve$n_risk >= MIN_AT_RISK]
  if (length(kept)) max(kept) else NA
}

# The risk-table times of curves: those up to where the curves end, and the next one
# when someone is still followed then.
axis_times <- function(curves) {
  ends <- vapply(split(curves, curves$group), truncation_time, 0)
  end <- max(c(ends[!is.na(ends)], 0))
  later <- RISK_TIMES[RISK_TIMES > end]
  kept <- RISK_TIMES[RISK_TIMES <= end]
  if (length(later) && any(curves$time >= later[1])) c(kept, later[1]) else kept
}

# One Kaplan-Meier panel: a step curve per group (with its CI band when `band`), censor
# marks, dashed lines to the medians, the test's p, and under it the numbers at risk,
# cumulative events and censored per group at the risk times.
km_panel <- function(curves, summary, p, title, times, right, test = "Log-rank",
                     band = TRUE) {
  groups <- as.character(summary$group)
  per_group <- if (length(groups) <= 4) 3 else 2
  plot(NA, xlim = c(0, right), ylim = c(0, 1.02), xaxt = "n", xlab = "", bty = "l",
       ylab = "Survival probability", main = title, font.main = 1)
  graphics::axis(1, at = times)
  graphics::title(xlab = "Months", line = 2.2)
  legend_text <- character(0)
  for (i in seq_along(groups)) {
    curve <- curves[curves$group == groups[i], ]
    stop <- truncation_time(curve)
    legend_text[i] <- sprintf("%s (n = %d)%s", groups[i], summary$n[i],
                              if (is.na(stop)) ": not drawn" else "")
    if (is.na(stop)) next
    shown <- curve[curve$time <= stop, ]
    steps <- drawn_steps(rbind(data.frame(time = 0, surv = 1, lower = 1, upper = 1),
                               shown[c("time", "surv", "lower", "upper")]), stop)
    if (band) {
      n <- nrow(steps)
      x <- c(steps$time[1], rep(steps$time[-1], each = 2))
      upper <- c(rep(steps$upper[-n], each = 2), steps$upper[n])
      lower <- c(rep(steps$lower[-n], each = 2), steps$lower[n])
      upper[is.na(upper)] <- 1
      lower[is.na(lower)] <- 0
      graphics::polygon(c(x, rev(x)), c(upper, rev(lower)), border = NA,
                        col = grDevices::adjustcolor(COLOURS[i], alpha.f = 0.15))
    }
    graphics::lines(steps$time, steps$surv, type = "s", col = COLOURS[i], lty = i, lwd = 1.6)
    marks <- drawn_steps(shown[shown$n_censor > 0, ], stop, KM_CENSOR_BINS, last = FALSE)
    graphics::points(marks$time, marks$surv, pch = 3, cex = 0.6, col = COLOURS[i])
    median <- summary$median[i]
    if (!is.na(median) && median <= stop) {
      graphics::segments(c(0, median), c(0.5, 0), c(median, median), c(0.5, 0.5),
                         col = COLOURS[i], lty = 2, lwd = 0.8)
    }
  }
  graphics::legend("topright", legend = legend_text, col = COLOURS[seq_along(groups)],
                   lty = seq_along(groups), lwd = 1.6, bty = "n", cex = 0.85,
                   title = paste(test, format_p(p)))
  measures <- c("at risk", "events", "censored")[seq_len(per_group)]
  graphics::mtext("Number at risk; cumulative events and censored", side = 1, line = 3.6,
                  adj = 0, cex = 0.75)
  line <- 4.6
  for (i in seq_along(groups)) {
    curve <- curves[curves$group == groups[i], ]
    counts <- sapply(times, function(t) {
      later <- curve$n_risk[curve$time >= t]
      before <- curve$time < t
      c(if (length(later)) later[1] else 0, sum(curve$n_event[before]),
        sum(curve$n_censor[before]))
    })
    for (j in seq_along(measures)) {
      graphics::mtext(if (j == 1) paste0(groups[i], ": ", measures[j]) else measures[j],
                      side = 1, line = line, at = -0.07 * right, adj = 1, cex = 0.7,
                      col = COLOURS[i])
      graphics::mtext(round(counts[j, ]), side = 1, line = line, at = times, cex = 0.7)
      line <- line + 0.9
    }
  }
}

# Kaplan-Meier panels side by side on one time axis, each a list(curves, summary, p,
# title).
km_figure <- function(panels, figures, name, test = "Log-rank", band = TRUE) {
  curves <- do.call(rbind, lapply(panels, `[[`, "curves"))
  times <- axis_times(curves)
  ends <- vapply(split(curves, paste(curves$panel, curves$group)), truncation_time, 0)
  right <- max(c(times, ends[!is.na(ends)], 1))
  rows <- max(vapply(panels, function(p) nrow(p$summary), 0L)) * 3
  png_file(figures, name, if (length(panels) == 1) 7 else 5.6 * length(panels),
           4.2 + 0.45 + 0.19 * rows)
  on.exit(grDevices::dev.off())
  graphics::par(mfrow = c(1, length(panels)), mar = c(5 + 0.9 * rows, 9, 3, 1))
  for (panel in panels) {
    km_panel(panel$curves, panel$summary, panel$p, panel$title, times, right, test, band)
  }
}

# A forest plot: rows (variable, label, hr, hr_lower, hr_upper, p, kind) top to bottom,
# reference levels as open circles, each variable named on its first row, alternate
# variables shaded, the HR (95% CI) and p printed beside each row.
forest_figure <- function(rows, title, xlab, header, figures, name) {
  n <- nrow(rows)
  png_file(figures, name, 9, 1.3 + 0.38 * n)
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(4, 24, 2.5, 12), oma = c(0, 0, 1.5, 0))
  y <- rev(seq_len(n))
  limits <- c(rows$hr_lower, rows$hr_upper)
  limits <- limits[is.finite(limits) & limits > 0]
  xlim <- c(min(0.5, 0.9 * limits), max(2, 1.1 * limits))
  plot(NA, xlim = xlim, ylim = c(0.4, n + 0.6), log = "x", yaxt = "n", bty = "n", ylab = "",
       xlab = xlab)
  first <- !duplicated(rows$variable)
  block <- cumsum(first)
  for (i in which(block %% 2 == 0)) {
    graphics::rect(10^graphics::par("usr")[1], y[i] - 0.5, 10^graphics::par("usr")[2],
                   y[i] + 0.5, col = "#f0f0f0", border = NA)
  }
  graphics::abline(v = 1, lty = 2, col = "grey40")
  estimate <- rows$kind == "estimate" & is.finite(rows$hr)
  graphics::segments(rows$hr_lower[estimate], y[estimate], rows$hr_upper[estimate],
                     y[estimate], col = COLOURS[1], lwd = 1.5)
  graphics::points(rows$hr[estimate], y[estimate], pch = 15, col = COLOURS[1])
  graphics::points(rep(1, sum(rows$kind == "reference")), y[rows$kind == "reference"],
                   pch = 1, col = "grey30")
  graphics::axis(2, at = y, labels = rows$label, las = 1, tick = FALSE, cex.axis = 0.85)
  graphics::mtext(rows$variable[first], side = 2, line = 23, at = y[first], adj = 0, las = 1,
                  font = 2, cex = 0.8)
  shown <- ifelse(rows$kind == "reference", "reference",
                  sprintf("%.2f (%.2f-%.2f)", rows$hr, rows$hr_lower, rows$hr_upper))
  graphics::mtext(shown, side = 4, line = 1, at = y, las = 1, adj = 0, cex = 0.8)
  graphics::mtext(ifelse(rows$kind == "reference", "", p_text(rows$p)), side = 4, line = 8.5,
                  at = y, las = 1, adj = 0, cex = 0.8)
  graphics::mtext(c(header, "HR (95% CI)", "p"), side = c(2, 4, 4), line = c(23, 1, 8.5),
                  at = n + 0.9, adj = 0, las = 1, font = 2, cex = 0.8)
  graphics::mtext(title, outer = TRUE, adj = 0.01, line = 0, cex = 0.95)
}

# The multivariable model's terms as forest rows, a reference row before each factor.
model_forest_rows <- function(cox, levels) {
  rows <- cox[cox$model == "multivariable", ]
  do.call(rbind, lapply(names(levels), function(v) {
    if (is.null(levels[[v]])) {
      r <- rows[rows$term == v, ]
      return(data.frame(variable = LABELS[[v]], label = "per unit", hr = r$hr,
                        hr_lower = r$hr_lower, hr_upper = r$hr_upper, p = r$p,
                        kind = "estimate"))
    }
    r <- rows[match(paste0(v, levels[[v]][-1]), rows$term), ]
    rbind(data.frame(variable = LABELS[[v]], label = levels[[v]][1], hr = NA, hr_lower = NA,
                     hr_upper = NA, p = NA, kind = "reference"),
          data.frame(variable = LABELS[[v]], label = levels[[v]][-1], hr = r$hr,
                     hr_lower = r$hr_lower, hr_upper = r$hr_upper, p = r$p,
                     kind = "estimate"))
  }))
}

# The arms in the report's order: immunotherapy first.
arm_order <- function(arms) c(intersect(IMMUNOTHERAPY, arms), setdiff(arms, IMMUNOTHERAPY))

# Every estimate of the low-vs-normal HR: all patients (unadjusted, adjusted, stratified),
# then within each arm its own model and the interaction model.
low_mg_forest_rows <- function(cox, arms) {
  pick <- function(model, term) {
    r <- cox[cox$model == model & cox$term == term, ]
    r[c("hr", "hr_lower", "hr_upper", "p")]
  }
  rows <- rbind(
    cbind(variable = "All patients", label = "unadjusted",
          pick("univariable", "mg_clinicallow")),
    cbind(variable = "All patients", label = "adjusted (arm, covariates)",
          pick("multivariable", "mg_clinicallow")),
    cbind(variable = "All patients", label = "stratified, adjusted",
          pick("stratified", "mg_clinicallow"))
  )
  for (arm in arm_order(arms)) {
    rows <- rbind(rows,
                  cbind(variable = arm, label = "arm's own model",
                        pick(paste0("arm=", arm), "mg_clinicallow")),
                  cbind(variable = arm, label = "interaction model",
                        pick("interaction", paste0("mg_clinicallow within arm=", arm))))
  }
  cbind(rows, kind = "estimate")
}

# The scaled Schoenfeld residuals of one term of the multivariable model, a panel per
# coefficient: at most MAX_SCATTER_POINTS residuals, the smooth with its +-2 SE band, the
# Cox estimate (dashed) and 0.
schoenfeld_figure <- function(residuals, smooth, title, figures, name) {
  coefficients <- unique(smooth$term)
  columns <- min(length(coefficients), 3)
  rows <- ceiling(length(coefficients) / columns)
  png_file(figures, name, if (columns == 1) 6.4 else 4.8 * columns, 3.6 * rows + 0.8)
  on.exit(grDevices::dev.off())
  graphics::par(mfrow = c(rows, columns), mar = c(4.5, 4, 3, 1))
  for (coefficient in coefficients) {
    points <- residuals[residuals$term == coefficient, ]
    points <- points[order(points$transformed_time, points$time), ]
    if (nrow(points) > MAX_SCATTER_POINTS) {
      points <- points[unique(round(seq(1, nrow(points), length.out = MAX_SCATTER_POINTS))), ]
    }
    curve <- smooth[smooth$term == coefficient, ]
    plot(points$transformed_time, points$residual, pch = 16, cex = 0.4,
         col = grDevices::adjustcolor("#777777", alpha.f = 0.45), xaxt = "n", bty = "l",
         ylim = range(points$residual, curve$lower, curve$upper), ylab = "Beta(t)",
         xlab = "Months (spaced by the test's time transform)",
         main = paste0(title, ": ", coefficient), font.main = 1, cex.main = 0.9)
    graphics::polygon(c(curve$transformed_time, rev(curve$transformed_time)),
                      c(curve$upper, rev(curve$lower)), border = NA,
                      col = grDevices::adjustcolor(COLOURS[1], alpha.f = 0.15))
    graphics::lines(curve$transformed_time, curve$fit, col = COLOURS[1], lwd = 1.8)
    graphics::abline(h = curve$coef[1], lty = 2, col = COLOURS[2], lwd = 1.2)
    graphics::abline(h = 0, col = "#555555", lwd = 0.8)
    at <- seq(min(curve$transformed_time), max(curve$transformed_time), length.out = 6)
    graphics::axis(1, at = at, labels = sprintf("%.1f", stats::approx(
      curve$transformed_time, curve$time, at)$y))
  }
}

# A hazard-ratio curve with its 95% CI band on a log axis and a line at HR 1.
hr_band <- function(x, rows, xlab, main, colour = COLOURS[1], points = FALSE, xlim = range(x)) {
  plot(x, rows$hr, type = "n", log = "y", xlim = xlim, bty = "l", xlab = xlab,
       ylab = "Hazard ratio (log scale)", main = main, font.main = 1, cex.main = 0.95,
       ylim = range(c(1, rows$hr_lower, rows$hr_upper), na.rm = TRUE))
  graphics::polygon(c(x, rev(x)), c(rows$hr_upper, rev(rows$hr_lower)), border = NA,
                    col = grDevices::adjustcolor(colour, alpha.f = 0.3))
  graphics::lines(x, rows$hr, col = colour, lwd = 1.8, type = if (points) "o" else "l",
                  pch = 16, cex = 0.5)
  graphics::abline(h = 1, col = "#555555", lwd = 0.8)
  graphics::abline(v = THRESHOLD, lty = 3, lwd = 1.4, col = COLOURS[2])
}

mg_histogram <- function(distribution, xlim) {
  plot(distribution$mg_mmol_l, distribution$n, type = "h", lwd = 4, lend = 1, col = "#7a7a7a",
       xlim = xlim, bty = "l", xlab = "Serum Mg (mmol/L)", ylab = "Patients")
  graphics::abline(v = THRESHOLD, lty = 3, lwd = 1.4, col = COLOURS[2])
}

spline_figure <- function(curve, distribution, title, figures, name) {
  png_file(figures, name, 6.4, 4.2 * 1.25)
  on.exit(grDevices::dev.off())
  graphics::layout(matrix(1:2), heights = c(4, 1.3))
  graphics::par(mar = c(2.5, 4.5, 3, 1))
  xlim <- range(curve$mg_mmol_l, distribution$mg_mmol_l)
  hr_band(curve$mg_mmol_l, curve, "", title, COLOURS[1], xlim = xlim)
  graphics::points(SPLINE_REFERENCE, 1, pch = 16)
  graphics::par(mar = c(4, 4.5, 0.5, 1))
  mg_histogram(distribution, xlim)
}

# The low-Mg HR at each threshold of the grid in the immunotherapy arm (all patients
# dashed), the patients below each, and beside it the spline over the Mg distribution.
threshold_figure <- function(grid, spline, distribution, title, figures, name) {
  png_file(figures, name, 6.4 * 1.8, 4.2 * 1.25)
  on.exit(grDevices::dev.off())
  graphics::layout(matrix(1:4, 2), heights = c(4, 1.3))
  graphics::par(mar = c(2.5, 4.5, 3, 1))
  primary <- grid[grid$subset == paste0("arm=", IMMUNOTHERAPY) & !is.na(grid$hr), ]
  pooled <- grid[grid$subset == "all", ]
  hr_band(primary$threshold_mmol_l, primary, "", title, points = TRUE)
  graphics::lines(pooled$threshold_mmol_l, pooled$hr, lty = 2, col = "#8c8c8c", lwd = 1.2)
  graphics::par(mar = c(4, 4.5, 0.5, 1))
  graphics::barplot(primary$n_low, names.arg = sprintf("%.2f", primary$threshold_mmol_l),
                    col = "#8c8c8c", border = NA, ylab = "Below", las = 2,
                    cex.names = 0.6, xlab = "Threshold: serum Mg below (mmol/L)")
  xlim <- range(spline$mg_mmol_l, distribution$mg_mmol_l)
  graphics::par(mar = c(2.5, 4.5, 3, 1))
  hr_band(spline$mg_mmol_l, spline, "", paste("Serum Mg without a cut: restricted cubic",
                                              "spline, all patients (adjusted)"),
          COLOURS[3], xlim = xlim)
  graphics::par(mar = c(4, 4.5, 0.5, 1))
  mg_histogram(distribution, xlim)
}

cutpoint_figure <- function(cutpoint, title, figures, name) {
  candidates <- cutpoint$candidates[order(cutpoint$candidates$cut), ]
  below <- candidates$cut[candidates$cut < THRESHOLD]
  at <- if (length(below) && THRESHOLD <= max(candidates$cut)) max(below) else THRESHOLD
  png_file(figures, name, 6.4, 4.2)
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(4.5, 4.5, 3, 1))
  plot(candidates$cut, candidates$statistic, type = "o", pch = 16, cex = 0.5, col = COLOURS[1],
       ylim = c(0, max(candidates$statistic)), bty = "l", main = title, font.main = 1,
       xlab = "Cut: low = serum Mg at or below it (mmol/L)",
       ylab = "Standardised log-rank statistic")
  graphics::abline(v = cutpoint$summary$cutpoint_mmol_l, col = COLOURS[2], lwd = 1.4)
  graphics::abline(v = at, lty = 3, lwd = 1.4)
}

# The love plot: each covariate column's absolute SMD before (open) and after (filled)
# weighting, a panel per arm, a dotted line at BALANCED_SMD.
love_figure <- function(balance, arms, figures, name) {
  rows <- max(table(balance$subset))
  png_file(figures, name, 4.2 * length(arms) + 1.6, 1.6 + 0.28 * rows)
  on.exit(grDevices::dev.off())
  graphics::par(mfrow = c(1, length(arms)), mar = c(4, 11, 3, 1), oma = c(0, 0, 1.5, 0))
  highest <- max(abs(c(balance$smd, balance$smd_weighted)), BALANCED_SMD) * 1.15
  for (arm in arms) {
    b <- balance[balance$subset == paste0("arm=", arm), ]
    y <- rev(seq_len(nrow(b)))
    before <- abs(b$smd)
    after <- abs(b$smd_weighted)
    plot(before, y, xlim = c(-0.01, highest), ylim = c(0.5, nrow(b) + 0.5), type = "n",
         yaxt = "n", bty = "l", ylab = "", main = arm, font.main = 1,
         xlab = "Absolute standardised mean difference")
    graphics::segments(pmin(before, after), y, pmax(before, after), y, col = "#c8c8c8")
    graphics::points(before, y, pch = 1, col = COLOURS[2])
    graphics::points(after, y, pch = 16, col = COLOURS[1])
    graphics::abline(v = c(0, BALANCED_SMD), lty = c(1, 3), col = "#555555")
    labels <- ifelse(b$level == "", LABELS[b$variable],
                     paste0(LABELS[b$variable], ": ", b$level))
    graphics::axis(2, at = y, labels = labels, las = 1, tick = FALSE, cex.axis = 0.85)
  }
  graphics::mtext("Covariate balance before and after weighting", outer = TRUE, cex = 0.9)
}

# The weights per arm and Mg group as boxes drawn from their quantiles (whiskers: the
# smallest and largest weight).
weights_figure <- function(weights, arms, figures, name) {
  weights <- do.call(rbind, lapply(arms, function(arm) {
    weights[weights$subset == paste0("arm=", arm), ]
  }))
  png_file(figures, name, 1.5 * nrow(weights) + 2, 3.6)
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(4, 4.5, 3, 1))
  boxes <- list(stats = t(as.matrix(weights[c("min", "q1", "median", "q3", "max")])),
                n = weights$n, names = paste0(sub("arm=", "", weights$subset), "\n",
                                              weights$group, " Mg"))
  colours <- COLOURS[match(weights$group, c("normal", "low"))]
  graphics::bxp(boxes, boxfill = grDevices::adjustcolor(colours, alpha.f = 0.35),
                border = colours, ylab = "Stabilised weight", cex.axis = 0.8, frame.plot = FALSE,
                main = "Stabilised weights per arm and Mg group", font.main = 1)
  graphics::abline(h = 1, col = "#555555", lwd = 0.8)
}

# The E-value of a hazard ratio and its CI (VanderWeele & Ding 2017; a common outcome's HR
# first converted to a risk ratio, VanderWeele 2020), as EValue's evalues.HR.
evalue_table <- function(row, common) {
  rr <- function(hr) if (common) (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1 / hr)) else hr
  evalue <- function(r) {
    r <- if (r < 1) 1 / r else r
    r + sqrt(r * (r - 1))
  }
  ratios <- vapply(c(row$hr, row$hr_lower, row$hr_upper), rr, 0)
  nearer <- if (ratios[1] > 1) ratios[2] else ratios[3]
  data.frame(endpoint = PRIMARY_ENDPOINT, model = row$model, hr = row$hr,
             hr_lower = row$hr_lower, hr_upper = row$hr_upper, common = common,
             rr = ratios[1], rr_lower = ratios[2], rr_upper = ratios[3],
             evalue = evalue(ratios[1]),
             evalue_ci = if (ratios[2] <= 1 && 1 <= ratios[3]) 1 else evalue(nearer))
}

report <- function(results, figures) {
  dir.create(figures, showWarnings = FALSE, recursive = TRUE)
  cohort <- results[[1]]$cohort
  same_split <- is.null(cohort$cutpoint) || cohort$cutpoint$summary$same_split_as_threshold
  for (endpoint in ENDPOINTS) {
    r <- results[[endpoint]]
    label <- ENDPOINT_LABELS[[endpoint]]
    arms <- arm_order(r$levels$arm)
    panel <- function(subset, grouping, title) {
      pick <- function(table) table[table$subset == subset & table$grouping == grouping, ]
      tests <- pick(r$logrank)
      list(curves = cbind(panel = subset, pick(r$km_curves)), summary = pick(r$km_summary),
           p = tests$p[tests$test == "logrank"], title = title)
    }
    km_figure(lapply(arms, function(arm) panel(paste0("arm=", arm), "mg_clinical", arm)),
              figures, sprintf("km_%s_by_arm", endpoint))
    interaction <- r$cox[r$cox$model == "interaction" & grepl(":", r$cox$term), ]
    forest_figure(low_mg_forest_rows(r$cox, arms),
                  sprintf("%s: low vs normal serum Mg; Mg x arm interaction %s", label,
                          format_p(interaction$p[1])),
                  "Hazard ratio, low vs normal serum Mg (log scale)", "Patients", figures,
                  sprintf("forest_low_mg_%s", endpoint))
    groupings <- unique(r$km_summary$grouping)
    if (same_split) groupings <- setdiff(groupings, "mg_cutpoint")
    for (grouping in groupings) {
      km_figure(list(panel("all", grouping, sprintf("%s by %s", label, LABELS[[grouping]]))),
                figures, sprintf("km_%s_%s", endpoint, grouping))
    }
    forest_figure(model_forest_rows(r$cox, r$levels),
                  sprintf("%s: adjusted hazard ratios, multivariable Cox model", label),
                  "Hazard ratio (log scale); above 1: a higher rate of the event", "Variable",
                  figures, sprintf("forest_%s", endpoint))
    ph <- r$ph_test[r$ph_test$model == "multivariable" & r$ph_test$term != "GLOBAL", ]
    for (term in ph$term[ph$p < PH_ALPHA]) {
      schoenfeld_figure(r$schoenfeld[r$schoenfeld$variable == term, ],
                        r$schoenfeld_smooth[r$schoenfeld_smooth$variable == term, ],
                        sprintf("%s: %s", label, LABELS[[term]]), figures,
                        sprintf("zph_%s_%s", endpoint, term))
    }
    spline_figure(r$spline, cohort$distribution,
                  sprintf("%s: hazard ratio by serum Mg", label), figures,
                  sprintf("spline_%s", endpoint))
  }
  if (!is.null(cohort$cutpoint)) {
    cutpoint_figure(cohort$cutpoint, sprintf("%s: log-rank statistic of each candidate cut",
                                             ENDPOINT_LABELS[[CUTPOINT_ENDPOINT]]),
                    figures, sprintf("cutpoint_%s", CUTPOINT_ENDPOINT))
  }
  # The primary endpoint's sensitivity analyses.
  r <- results[[PRIMARY_ENDPOINT]]
  label <- ENDPOINT_LABELS[[PRIMARY_ENDPOINT]]
  arms <- arm_order(r$levels$arm)
  if (!is.null(r$thresholds)) {
    threshold_figure(r$thresholds, r$spline, cohort$distribution,
                     sprintf("%s: HR of Mg below each threshold", label), figures,
                     sprintf("thresholds_%s", PRIMARY_ENDPOINT))
  }
  if (!is.null(r$subgroups)) {
    s <- r$subgroups[!is.na(r$subgroups$hr), ]
    rows <- data.frame(variable = sprintf("%s (interaction %s)", LABELS[s$variable],
                                          vapply(s$interaction_p, format_p, "")),
                       label = sprintf("%s (%d, %d events)", s$level, s$n, s$events),
                       s[c("hr", "hr_lower", "hr_upper", "p")], kind = "estimate")
    forest_figure(rows, sprintf("%s: low vs normal serum Mg within subgroups", label),
                  "Hazard ratio, low vs normal serum Mg (log scale)", "Subgroup", figures,
                  sprintf("subgroups_%s", PRIMARY_ENDPOINT))
  }
  if (!is.null(r$iptw_balance)) {
    weighted <- arms[paste0("arm=", arms) %in% r$iptw_balance$subset]
    love_figure(r$iptw_balance, weighted, figures, sprintf("iptw_balance_%s", PRIMARY_ENDPOINT))
    weights_figure(r$iptw_weights, weighted, figures,
                   sprintf("iptw_weights_%s", PRIMARY_ENDPOINT))
    km_figure(lapply(weighted, function(arm) {
      subset <- paste0("arm=", arm)
      km <- r$iptw_km[r$iptw_km$subset == subset, ]
      weights <- r$iptw_weights[r$iptw_weights$subset == subset, ]
      list(curves = data.frame(panel = subset, group = km$group, time = km$time,
                               n_risk = km$patients_at_risk, n_event = km$patients_with_event,
                               n_censor = km$patients_censored, surv = km$surv,
                               lower = km$surv, upper = km$surv),
           summary = data.frame(group = weights$group, n = weights$n, median = NA),
           p = r$iptw_cox$p[r$iptw_cox$subset == subset], title = arm)
    }), figures, sprintf("iptw_km_%s", PRIMARY_ENDPOINT), test = "Weighted Cox (robust)",
    band = FALSE)
  }
  # The E-value of the primary estimate: the immunotherapy arm's own model.
  model <- paste0("arm=", IMMUNOTHERAPY)
  row <- r$cox[r$cox$model == model & r$cox$term == "mg_clinicallow", ]
  if (nrow(row) == 1 && is.finite(row$hr_upper) && row$hr_lower > 0) {
    write_tsv(evalue_table(row, row$events / row$n > COMMON_OUTCOME),
              file.path(workdir, "tables", "evalue.tsv"))
  }
}

# ---- Cox fit alone -------------------------------------------------------------------

cox_fit <- function(d) {
  x <- stats::model.matrix(~ mg_clinical + arm + age + sex + ecog + histology + pdl1, d)[, -1]
  keep <- stats::complete.cases(x)
  y <- Surv(d$pfs_months, d$pfs_event)[keep]
  x <- x[keep, , drop = FALSE]
  timed("cox_fit", coxph.fit(x, y, strata = NULL, offset = NULL, init = NULL,
                             control = coxph.control(), weights = NULL, method = "efron",
                             rownames = NULL, nocenter = c(-1, 0, 1)))
}

# ---- stages --------------------------------------------------------------------------

saved <- function(name) file.path(workdir, paste0(name, ".rds"))
save_object <- function(object, name) saveRDS(object, saved(name), compress = FALSE)

if (stage == "all") {
  prepared <- timed("prepare", prepare())
  results <- list()
  for (endpoint in ENDPOINTS) {
    results[[endpoint]] <- timed(paste0("analyse_", endpoint), analyse(prepared, endpoint))
  }
  invisible(timed("report", report(results, file.path(workdir, "figures"))))
} else if (stage == "prepare") {
  prepared <- timed("prepare", {
    prepared <- prepare()
    save_object(prepared, "cohort")
    prepared
  })
} else if (stage %in% paste0("analyse_", ENDPOINTS)) {
  endpoint <- sub("analyse_", "", stage)
  invisible(timed(stage, save_object(analyse(readRDS(saved("cohort")), endpoint), endpoint)))
} else if (stage == "report") {
  timed("report", {
    results <- lapply(stats::setNames(ENDPOINTS, ENDPOINTS), function(e) readRDS(saved(e)))
    report(results, file.path(workdir, "figures"))
  })
  invisible(NULL)
} else if (stage == "cox_fit") {
  d <- readRDS(saved("cohort"))$data
  invisible(cox_fit(d))
} else {
  stop("unknown stage: ", stage)
}
