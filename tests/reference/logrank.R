# Reference results from R survival for mgsurv's log-rank tests (tests/test_logrank.py).
#
# Run by hand from the repository root when datasets or reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/logrank.R
# Cross-checks stop the script on disagreement (the JSON written does not depend on them):
# the trend statistic against coxph's exact-likelihood score test (check_trend), and, when
# survminer is installed (apt-get install r-cran-survminer), the adjusted pairwise p-values
# against survminer::pairwise_survdiff.
#
# Reads tests/reference/data/*.csv, writes tests/reference/fixtures/logrank_*.json.
# Every test is survdiff (survival 3.x, timefix = TRUE, rho = 0):
# * overall: survdiff(Surv(time, status) ~ group);
# * stratified: survdiff(Surv(time, status) ~ group + strata(s));
# * trend (no survival function; Collett, Modelling Survival Data in Medical Research, 3rd ed.,
#   section 2.6.4, after Peto et al. 1977, Br J Cancer 35:1-39; Klein & Moeschberger 2003,
#   section 7.4): U = sum_j s_j (O_j - E_j), V = s' var s with survdiff's obs, exp (summed over
#   strata) and var, chi-square U^2 / V on 1 df. survminer's surv_pvalue(test.for.trend = TRUE)
#   calls survMisc::comp (0.5.6), which computes the same U and V (with E - O for O - E) but
#   does not pair its scores 1..k with the groups in factor-level order (lung ph.ecog 0..3:
#   its default is this statistic with scores 1, 4, 3, 2), and rounds p to 4 digits, so it is
#   not used here;
# * pairwise: survdiff on the two groups' patients (as survminer::pairwise_survdiff does), p
#   adjusted over all pairs with p.adjust.
# Rows with NA in time, status, group or strata are dropped first (survdiff's na.omit), and
# unused group levels with them: the group order is the factor's level order.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
dir.create(out_dir, showWarnings = FALSE)

save <- function(x, name) {
  write_json(x, file.path(out_dir, paste0("logrank_", name, ".json")), digits = NA,
             auto_unbox = TRUE, na = "null", pretty = TRUE)
}

versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))
has_survminer <- requireNamespace("survminer", quietly = TRUE)

complete_data <- function(time, status, group, strata = NULL) {
  d <- data.frame(time = time, status = status, group = group)
  if (!is.null(strata)) d$s <- strata
  d <- d[complete.cases(d), ]
  d$group <- droplevels(factor(d$group, levels = levels(group)))
  d
}

# survdiff's O, E (summed over strata) and variance, its chi-square, df and p. A singular
# variance matrix makes survdiff stop ("system is computationally singular"): NA then.
survdiff_row <- function(time, status, group, strata = NULL) {
  d <- complete_data(time, status, group, strata)
  formula <- if (is.null(strata)) Surv(time, status) ~ group else
    Surv(time, status) ~ group + strata(s)
  fit <- tryCatch(survdiff(formula, data = d), error = function(e) conditionMessage(e))
  if (is.character(fit)) {
    return(list(groups = levels(d$group), statistic = NA, df = NA, p = NA, error = fit))
  }
  obs <- if (is.matrix(fit$obs)) rowSums(fit$obs) else fit$obs
  exp <- if (is.matrix(fit$exp)) rowSums(fit$exp) else fit$exp
  list(groups = levels(d$group), observed = unname(obs), expected = unname(exp),
       variance = unname(fit$var), statistic = fit$chisq, df = sum(exp > 0) - 1,
       p = fit$pvalue)
}

# survdiff's obs and exp (summed over strata) and var, without its chi-square, which stops on a
# singular variance: the internal survdiff.fit on timefix-corrected times, as survdiff calls it.
survdiff_parts <- function(d, stratified) {
  strata <- if (stratified) d$s else rep(1, nrow(d))
  fit <- survival:::survdiff.fit(aeqSurv(Surv(d$time, d$status)), d$group, strata)
  list(obs = if (is.matrix(fit$observed)) rowSums(fit$observed) else fit$observed,
       exp = if (is.matrix(fit$expected)) rowSums(fit$expected) else fit$expected,
       var = fit$var)
}

# Test for trend from survdiff's components; scores default to 1..k over the levels.
trend_row <- function(time, status, group, strata = NULL, scores = NULL) {
  d <- complete_data(time, status, group, strata)
  if (is.null(scores)) scores <- seq_len(nlevels(d$group))
  parts <- survdiff_parts(d, !is.null(strata))
  u <- sum(scores * (parts$obs - parts$exp))
  v <- drop(t(scores) %*% parts$var %*% scores)
  chisq <- u^2 / v
  check_trend(d, scores, strata, chisq)
  list(groups = levels(d$group), scores = scores, score = u, variance = v, z = u / sqrt(v),
       statistic = chisq, df = 1, p = pchisq(chisq, 1, lower.tail = FALSE))
}

# Cross-check: the trend chi-square is the score test at beta = 0 of a Cox model with the score
# as a numeric covariate and the exact (discrete) partial likelihood, whose information at 0 is
# the hypergeometric log-rank variance (Kalbfleisch & Prentice 2002, section 4.2.2).
check_trend <- function(d, scores, strata, chisq) {
  d$score <- scores[as.integer(d$group)]
  formula <- if (is.null(strata)) Surv(time, status) ~ score else
    Surv(time, status) ~ score + strata(s)
  fit <- coxph(formula, data = d, ties = "exact", iter.max = 0)
  stopifnot(isTRUE(all.equal(unname(fit$score), chisq, tolerance = 1e-12)))
}

pairwise_rows <- function(time, status, group) {
  d <- complete_data(time, status, group)
  lev <- levels(d$group)
  pairs <- combn(length(lev), 2)
  rows <- lapply(seq_len(ncol(pairs)), function(i) {
    keep <- d$group %in% lev[pairs[, i]]
    test <- survdiff_row(d$time[keep], d$status[keep], droplevels(d$group[keep]))
    list(groups = paste(lev[pairs[, i]], collapse = " vs "), statistic = test$statistic,
         df = test$df, p = test$p)
  })
  p <- vapply(rows, function(r) r$p, 0)
  result <- list(groups = vapply(rows, function(r) r$groups, ""),
                 statistic = vapply(rows, function(r) r$statistic, 0),
                 df = vapply(rows, function(r) r$df, 0), p = p,
                 p_holm = p.adjust(p, "holm"), p_bh = p.adjust(p, "BH"))
  if (has_survminer && !anyNA(p)) check_survminer(d, lev, pairs, result)
  result
}

check_survminer <- function(d, lev, pairs, result) {
  for (method in c("holm", "BH")) {
    table <- survminer::pairwise_survdiff(Surv(time, status) ~ group, data = d,
                                          p.adjust.method = method)$p.value
    theirs <- table[cbind(lev[pairs[2, ]], lev[pairs[1, ]])]
    ours <- if (method == "holm") result$p_holm else result$p_bh
    stopifnot(isTRUE(all.equal(unname(theirs), ours, tolerance = 1e-14)))
  }
}

# One grouping of one dataset: every test mgsurv's logrank_table reports (it has the trend and
# pairwise rows only with three or more groups).
grouping_fixture <- function(time, status, group, strata = NULL) {
  out <- list(overall = survdiff_row(time, status, group),
              pairwise = pairwise_rows(time, status, group))
  if (!is.null(strata)) out$stratified <- survdiff_row(time, status, group, strata)
  # With two groups the trend test is the log-rank test; kept as a check.
  out$trend <- trend_row(time, status, group)
  if (!is.null(strata)) out$trend_stratified <- trend_row(time, status, group, strata)
  out
}

# lung: sex (2 groups; stratified by ph.ecog, whose one NA row is dropped and whose level 3
# holds a single patient: a stratum with one group); ph.ecog as 4 ordered groups (the group 3
# with one patient), stratified by sex.
lung <- read.csv(file.path(data_dir, "lung.csv"))
save(list(
  versions = versions,
  sex = grouping_fixture(lung$time, lung$status, factor(lung$sex, levels = c(1, 2)),
                         lung$ph.ecog),
  ph_ecog = grouping_fixture(lung$time, lung$status, factor(lung$ph.ecog, levels = 0:3),
                             lung$sex)
), "lung")

# veteran: cell type in a fixed (not alphabetical) order, stratified by treatment; also a
# trend with unequal scores.
vet <- read.csv(file.path(data_dir, "veteran.csv"))
celltype <- factor(vet$celltype, levels = c("squamous", "smallcell", "adeno", "large"))
veteran <- grouping_fixture(vet$time, vet$status, celltype, vet$trt)
veteran$trend_scores <- trend_row(vet$time, vet$status, celltype, scores = c(1, 2, 4, 8))
save(list(versions = versions, celltype = veteran), "veteran")

# Synthetic cohorts: Mg quartiles as mgsurv cuts them (type-7 sample quartiles, intervals
# closed on the right, the lowest value in Q1), stratified by arm; PFS and OS.
mg_quartile <- function(mg) {
  q <- quantile(mg, c(0.25, 0.5, 0.75), type = 7)
  cut(mg, c(-Inf, q, Inf), labels = c("Q1", "Q2", "Q3", "Q4"), right = TRUE)
}
synthetic_fixture <- function(name) {
  syn <- read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
  quartile <- mg_quartile(syn$mg_mmol_l)
  list(versions = versions, mg_quartile = as.character(quartile),
       pfs = grouping_fixture(syn$pfs_months, syn$pfs_event, quartile, syn$arm),
       os = grouping_fixture(syn$os_months, syn$os_event, quartile, syn$arm))
}
save(synthetic_fixture("synthetic_400"), "synthetic_400")
save(synthetic_fixture("synthetic_untied_300"), "synthetic_untied_300")

# Edge cases (tests/reference/data/logrank_edge_cases.csv, one scenario per `case`):
# * single_group_stratum: stratum y holds group A only;
# * no_events: group C has no events (but E > 0), group D is censored before the first event
#   (E = 0: survdiff leaves it out of the chi-square, df = 2; its pairs get chisq 0 on 0 df,
#   p = pchisq(0, 0, lower.tail = FALSE) = 1, and C vs D, without events, chisq 0 on -1 df,
#   p NaN with a warning);
# * singular: stratum y holds group C only, so the stratified variance is singular and
#   survdiff stops;
# * near_ties: times differing by < 1.5e-8 relative, merged by survdiff's timefix (aeqSurv).
edge <- read.csv(file.path(data_dir, "logrank_edge_cases.csv"), stringsAsFactors = FALSE)
edge_fixture <- function(case) {
  d <- edge[edge$case == case, ]
  grouping_fixture(d$time, d$status, factor(d$group, levels = sort(unique(d$group))),
                   d$stratum)
}
cases <- c("single_group_stratum", "no_events", "singular", "near_ties")
save(c(list(versions = versions), setNames(lapply(cases, edge_fixture), cases)), "edge_cases")
