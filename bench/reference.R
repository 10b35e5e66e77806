# The benchmark's R reference: the analyses of the mgsurv workflow on the same cohort CSV,
# written as an R analyst would, with R survival (>= 3.0) and base R graphics.
#
#   Rscript bench/reference.R STAGE COHORT.csv WORKDIR
#
# STAGE is one of prepare, analyse_pfs, analyse_os, report, cox_fit, or all (every stage
# in this one process: the "workflow" of R). A single stage reads what the earlier stage
# saved in WORKDIR (cohort.rds, <endpoint>.rds: R's own uncompressed serialisation), as
# mgsurv's rules read the previous rule's files. Each stage is timed with system.time
# (elapsed; R's start-up and library loading are outside it) and appended to
# WORKDIR/r_timings.tsv as "stage<TAB>seconds"; peak memory is measured from outside.
#
# What each stage does (mgsurv's counterpart in brackets):
#   prepare      read the CSV (data.table::fread when installed, else read.csv), keep the
#                analysable patients, factor levels with the configured references, Mg
#                groups: clinical (< 0.70 mmol/L), sample quartiles (type 7, closed right),
#                data-driven cut-point (maxstat::maxstat.test, log-rank, minprop 0.1, when
#                maxstat is installed), Table 1 by clinical group [prepare_cohort]
#   analyse_*    per endpoint (pfs, os) and grouping: survfit (log-log CIs) with curves,
#                medians and CIs, landmarks at 6/12/24 months, RMST (print.survfit rmean),
#                median follow-up (reverse KM); survdiff: log-rank, stratified by arm,
#                trend across quartiles, pairwise quartiles with Holm; coxph (Efron):
#                univariable for each term, multivariable (Mg group + arm + age, sex,
#                ecog, histology, pdl1), continuous Mg per 0.1 mmol/L, stratified by arm,
#                Mg x arm interaction, per arm, restricted cubic spline of Mg (4 knots,
#                Harrell's basis) with the LR test of non-linearity and the HR curve
#                against 0.85 mmol/L; cox.zph (km transform) of the multivariable,
#                continuous, stratified, interaction and per-arm models; every table
#                written as TSV (data.table::fwrite when installed, else write.table)
#                [analyse_endpoint + collect_tables]
#   report       PNG figures with base graphics: a Kaplan-Meier plot per endpoint and
#                grouping (CI bands, censor marks, medians, log-rank p, numbers at risk),
#                scaled Schoenfeld residuals per term of the multivariable model
#                (plot.cox.zph), the spline HR curve, the cut-point statistics and a
#                forest plot per endpoint [render_report, which also writes PDFs and the
#                self-contained HTML with inline SVG]
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

THRESHOLD <- 0.70
ENDPOINTS <- c("pfs", "os")
GROUPINGS <- c("mg_clinical", "mg_quartile", "mg_cutpoint")
COVARIATES <- c("age", "sex", "ecog", "histology", "pdl1")
REFERENCES <- list(sex = "male", ecog = "0", histology = "non-squamous", pdl1 = "<1%",
                   arm = "chemotherapy")
LANDMARKS <- c(6, 12, 24)
RISK_TIMES <- c(0, 6, 12, 18, 24, 30, 36)
SPLINE_REFERENCE <- 0.85
MIN_AT_RISK <- 10

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
    d[[v]] <- stats::relevel(factor(as.character(d[[v]])), ref = REFERENCES[[v]])
  }
  d$mg_clinical <- factor(ifelse(d$mg_mmol_l < THRESHOLD, "low", "normal"),
                          levels = c("normal", "low"))
  edges <- stats::quantile(d$mg_mmol_l, c(0, 0.25, 0.5, 0.75, 1))
  d$mg_quartile <- cut(d$mg_mmol_l, edges, labels = paste0("Q", 1:4), include.lowest = TRUE)
  d$mg_per_0.1 <- d$mg_mmol_l / 0.1
  cut_result <- NULL
  if (has_maxstat) {
    cut_result <- maxstat::maxstat.test(Surv(pfs_months, pfs_event) ~ mg_mmol_l, data = d,
                                        smethod = "LogRank", pmethod = "Lau94",
                                        minprop = 0.1, maxprop = 0.9)
    d$mg_cutpoint <- factor(ifelse(d$mg_mmol_l <= cut_result$estimate, "low", "high"),
                            levels = c("high", "low"))
    write_tsv(data.frame(cutpoint = unname(cut_result$estimate),
                         statistic = unname(cut_result$statistic), p = cut_result$p.value),
              file.path(workdir, "tables", "cutpoint.tsv"))
  } else {
    d$mg_cutpoint <- factor(NA, levels = c("high", "low"))
  }
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
  list(data = d, cutpoint = cut_result)
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

logrank_tables <- function(y, d, grouping) {
  g <- d[[grouping]]
  rows <- list()
  test <- survdiff(y ~ g)
  rows[[1]] <- data.frame(test = "logrank", groups = "all", statistic = test$chisq,
                          df = length(test$n) - 1,
                          p = stats::pchisq(test$chisq, length(test$n) - 1,
                                            lower.tail = FALSE))
  stratified <- survdiff(y ~ g + strata(d$arm))
  rows[[2]] <- data.frame(test = "stratified", groups = "all", statistic = stratified$chisq,
                          df = length(test$n) - 1,
                          p = stats::pchisq(stratified$chisq, length(test$n) - 1,
                                            lower.tail = FALSE))
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
  rows <- lapply(rows, function(r) {
    if (is.null(r$p_adjusted)) r$p_adjusted <- NA
    r
  })
  cbind(grouping = grouping, do.call(rbind, rows))
}

km_tables <- function(y, d, grouping) {
  fit <- survfit(y ~ d[[grouping]], conf.type = "log-log")
  s <- summary(fit, censored = TRUE)
  curves <- data.frame(grouping = grouping, group = sub(".*=", "", s$strata), time = s$time,
                       n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                       surv = s$surv, lower = s$lower, upper = s$upper)
  tau <- min(tapply(y[, 1], d[[grouping]], max))
  table <- summary(fit, rmean = tau)$table
  summary_rows <- data.frame(grouping = grouping, group = sub(".*=", "", rownames(table)),
                             n = table[, "records"], events = table[, "events"],
                             median = table[, "median"], median_lower = table[, "0.95LCL"],
                             median_upper = table[, "0.95UCL"], rmst = table[, "rmean"],
                             rmst_se = table[, "se(rmean)"], tau = tau, row.names = NULL)
  at <- summary(fit, times = LANDMARKS, extend = FALSE)
  landmarks <- data.frame(grouping = grouping, group = sub(".*=", "", at$strata),
                          time = at$time, surv = at$surv, lower = at$lower, upper = at$upper)
  reverse <- survfit(Surv(y[, 1], 1 - y[, 2]) ~ d[[grouping]], conf.type = "log-log")
  followup <- summary(reverse)$table
  followup <- data.frame(grouping = grouping, group = sub(".*=", "", rownames(followup)),
                         median_followup = followup[, "median"],
                         lower = followup[, "0.95LCL"], upper = followup[, "0.95UCL"],
                         row.names = NULL)
  list(fit = fit, curves = curves, summary = summary_rows, landmarks = landmarks,
       followup = followup, logrank = logrank_tables(y, d, grouping))
}

analyse <- function(d, endpoint) {
  y <- Surv(d[[paste0(endpoint, "_months")]], d[[paste0(endpoint, "_event")]])
  groupings <- GROUPINGS[vapply(GROUPINGS, function(g) any(!is.na(d[[g]])), TRUE)]
  km <- lapply(stats::setNames(groupings, groupings), function(g) km_tables(y, d, g))
  overall <- summary(survfit(Surv(y[, 1], 1 - y[, 2]) ~ 1, conf.type = "log-log"))$table
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
  for (arm in levels(d$arm)) {
    keep <- d$arm == arm
    ya <- y[keep]
    models[[paste0("arm=", arm)]] <- coxph(
      stats::as.formula(paste("ya ~ mg_clinical +", covariates)), data = d[keep, ]
    )
  }
  zph <- list()
  for (model in c("multivariable", "continuous", "stratified", "interaction",
                  paste0("arm=", levels(d$arm)))) {
    zph[[model]] <- cox.zph(models[[model]], transform = "km")
  }
  # Interaction model: the low-Mg HR within each arm (main effect + interaction).
  interaction <- models$interaction
  beta <- stats::coef(interaction)
  within <- do.call(rbind, lapply(levels(d$arm), function(arm) {
    w <- stats::setNames(numeric(length(beta)), names(beta))
    w["mg_clinicallow"] <- 1
    extra <- paste0("mg_clinicallow:arm", arm)
    if (extra %in% names(w)) w[extra] <- 1
    est <- sum(w * beta)
    se <- sqrt(drop(t(w) %*% stats::vcov(interaction) %*% w))
    data.frame(model = "interaction", term = paste0("mg_clinical[low vs normal] within arm=",
                                                    arm),
               coef = est, se = se, hr = exp(est), hr_lower = exp(est - 1.959964 * se),
               hr_upper = exp(est + 1.959964 * se), z = est / se,
               p = 2 * stats::pnorm(-abs(est / se)), n = interaction$n,
               events = interaction$nevent)
  }))
  # Restricted cubic spline of Mg, adjusted like the multivariable model.
  knots <- rcs_knots(d$mg_mmol_l)
  basis <- rcs_basis(d$mg_mmol_l, knots)
  adjust <- stats::model.matrix(stats::as.formula(paste("~ arm +", covariates)), d)[, -1]
  spline <- coxph(y ~ basis + adjust)
  linear <- coxph(y ~ basis[, 1] + adjust)
  nonlinear_lr <- 2 * (spline$loglik[2] - linear$loglik[2])
  grid <- seq(min(d$mg_mmol_l), max(d$mg_mmol_l), length.out = 100)
  contrast <- sweep(rcs_basis(grid, knots), 2, drop(rcs_basis(SPLINE_REFERENCE, knots)))
  k <- ncol(basis)
  lp <- drop(contrast %*% stats::coef(spline)[1:k])
  se <- sqrt(rowSums((contrast %*% stats::vcov(spline)[1:k, 1:k]) * contrast))
  spline_curve <- data.frame(mg_mmol_l = grid, hr = exp(lp), hr_lower = exp(lp - 1.959964 * se),
                             hr_upper = exp(lp + 1.959964 * se))
  multivariable_zph <- zph$multivariable
  schoenfeld <- data.frame(time = rep(multivariable_zph$time, ncol(multivariable_zph$y)),
                           transformed_time = rep(multivariable_zph$x,
                                                  ncol(multivariable_zph$y)),
                           term = rep(colnames(multivariable_zph$y),
                                      each = nrow(multivariable_zph$y)),
                           residual = as.vector(multivariable_zph$y))
  tables <- list(
    km_curves = do.call(rbind, lapply(km, `[[`, "curves")),
    km_summary = do.call(rbind, lapply(km, `[[`, "summary")),
    landmarks = do.call(rbind, lapply(km, `[[`, "landmarks")),
    followup = rbind(data.frame(grouping = "all", group = "all",
                                median_followup = overall[["median"]],
                                lower = overall[["0.95LCL"]], upper = overall[["0.95UCL"]]),
                     do.call(rbind, lapply(km, `[[`, "followup"))),
    logrank = do.call(rbind, lapply(km, `[[`, "logrank")),
    cox = rbind(do.call(rbind, Map(coef_table, models, sub(":.*", "", names(models)))),
                within),
    cox_models = do.call(rbind, Map(model_row, models, names(models))),
    ph_test = do.call(rbind, Map(zph_table, zph, names(zph))),
    schoenfeld = schoenfeld,
    spline = spline_curve,
    nonlinearity = data.frame(knots = paste(signif(knots, 4), collapse = ", "),
                              statistic = nonlinear_lr, df = k - 1,
                              p = stats::pchisq(nonlinear_lr, k - 1, lower.tail = FALSE))
  )
  for (name in names(tables)) {
    write_tsv(cbind(endpoint = endpoint, tables[[name]]),
              file.path(workdir, "endpoints", endpoint, paste0(name, ".tsv")))
  }
  list(fits = lapply(km, `[[`, "fit"), logrank = tables$logrank, zph = multivariable_zph,
       spline = spline_curve, cox = tables$cox)
}

# ---- report: figures with base graphics ----------------------------------------------

COLOURS <- c("#0072B2", "#D55E00", "#009E73", "#CC79A7")

km_figure <- function(fit, logrank, endpoint, grouping, path) {
  groups <- sub(".*=", "", names(fit$strata))
  colours <- COLOURS[seq_along(groups)]
  stops <- vapply(seq_along(groups), function(i) {
    one <- fit[i]
    keep <- one$time[one$n.risk >= MIN_AT_RISK]
    if (length(keep)) max(keep) else 0
  }, 0)
  grDevices::png(path, width = 7, height = 6, units = "in", res = 200)
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(5 + 1.2 * length(groups), 7, 3, 1))
  plot(fit, conf.int = TRUE, mark.time = TRUE, col = colours, lty = seq_along(groups),
       lwd = 1.6, xmax = max(stops), xlab = "", ylab = "Survival probability",
       main = sprintf("%s by %s", toupper(endpoint), grouping), xaxt = "n")
  graphics::axis(1, at = RISK_TIMES)
  graphics::title(xlab = "Months", line = 2.2)
  medians <- summary(fit)$table[, "median"]
  graphics::segments(0, 0.5, medians, 0.5, lty = 3, col = "grey40")
  graphics::segments(medians, 0, medians, 0.5, lty = 3, col = colours)
  p <- logrank$p[logrank$grouping == grouping & logrank$test == "logrank"]
  graphics::legend("topright", legend = groups, col = colours, lty = seq_along(groups),
                   bty = "n", title = sprintf("log-rank p = %s", format.pval(p, digits = 2,
                                                                         eps = 0.001)))
  at_risk <- summary(fit, times = RISK_TIMES, extend = TRUE)
  for (i in seq_along(groups)) {
    rows <- sub(".*=", "", at_risk$strata) == groups[i]
    graphics::mtext(groups[i], side = 1, line = 3.2 + 1.2 * i, at = -0.08 * max(stops),
                    adj = 1, col = colours[i], cex = 0.8)
    graphics::mtext(at_risk$n.risk[rows], side = 1, line = 3.2 + 1.2 * i,
                    at = at_risk$time[rows], cex = 0.8)
  }
}

forest_figure <- function(cox, endpoint, path) {
  rows <- cox[cox$model == "multivariable", ]
  grDevices::png(path, width = 7, height = 1 + 0.3 * nrow(rows), units = "in", res = 200)
  on.exit(grDevices::dev.off())
  graphics::par(mar = c(4, 14, 2, 1))
  y <- rev(seq_len(nrow(rows)))
  plot(rows$hr, y, log = "x", xlim = range(c(rows$hr_lower, rows$hr_upper)), pch = 15,
       yaxt = "n", ylab = "", xlab = "Hazard ratio (95% CI)",
       main = sprintf("%s: multivariable Cox model", toupper(endpoint)))
  graphics::segments(rows$hr_lower, y, rows$hr_upper, y)
  graphics::abline(v = 1, lty = 2)
  graphics::axis(2, at = y, labels = rows$term, las = 1, cex.axis = 0.8)
}

report <- function(results, cutpoint, figures) {
  dir.create(figures, showWarnings = FALSE, recursive = TRUE)
  for (endpoint in ENDPOINTS) {
    r <- results[[endpoint]]
    for (grouping in names(r$fits)) {
      km_figure(r$fits[[grouping]], r$logrank, endpoint, grouping,
                file.path(figures, sprintf("km_%s_%s.png", endpoint, grouping)))
    }
    for (i in seq_len(ncol(r$zph$y))) {
      grDevices::png(file.path(figures, sprintf("schoenfeld_%s_%d.png", endpoint, i)),
                     width = 6.4, height = 4.2, units = "in", res = 200)
      plot(r$zph[i], resid = TRUE, se = TRUE, main = colnames(r$zph$y)[i])
      invisible(grDevices::dev.off())
    }
    grDevices::png(file.path(figures, sprintf("spline_%s.png", endpoint)), width = 6.4,
                   height = 4.2, units = "in", res = 200)
    graphics::matplot(r$spline$mg_mmol_l, r$spline[, c("hr", "hr_lower", "hr_upper")],
                      type = "l", lty = c(1, 2, 2), col = 1, log = "y",
                      xlab = "Serum Mg (mmol/L)", ylab = "Hazard ratio vs 0.85 mmol/L")
    graphics::abline(h = 1, v = THRESHOLD, lty = 3)
    invisible(grDevices::dev.off())
    forest_figure(r$cox, endpoint, file.path(figures, sprintf("forest_%s.png", endpoint)))
  }
  if (!is.null(cutpoint)) {
    grDevices::png(file.path(figures, "cutpoint.png"), width = 6.4, height = 4.2,
                   units = "in", res = 200)
    plot(cutpoint)
    invisible(grDevices::dev.off())
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
    results[[endpoint]] <- timed(paste0("analyse_", endpoint),
                                 analyse(prepared$data, endpoint))
  }
  invisible(timed("report", report(results, prepared$cutpoint, file.path(workdir, "figures"))))
} else if (stage == "prepare") {
  prepared <- timed("prepare", {
    prepared <- prepare()
    save_object(prepared, "cohort")
    prepared
  })
} else if (stage %in% paste0("analyse_", ENDPOINTS)) {
  endpoint <- sub("analyse_", "", stage)
  invisible(timed(stage, save_object(analyse(readRDS(saved("cohort"))$data, endpoint), endpoint)))
} else if (stage == "report") {
  timed("report", {
    results <- lapply(stats::setNames(ENDPOINTS, ENDPOINTS), function(e) readRDS(saved(e)))
    report(results, readRDS(saved("cohort"))$cutpoint, file.path(workdir, "figures"))
  })
  invisible(NULL)
} else if (stage == "cox_fit") {
  d <- readRDS(saved("cohort"))$data
  invisible(cox_fit(d))
} else {
  stop("unknown stage: ", stage)
}
