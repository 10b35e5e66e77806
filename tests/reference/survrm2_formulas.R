# survRM2's formulas for mgsurv's RMST fixtures, sourced by tests/reference/rmst.R and
# tests/reference/subsets.R (run from the repository root).
#
# survRM2 (CRAN) is not installable here, so its formulas are implemented below from survRM2
# 1.0-4 (2022-06-14; GitHub mirror cran/survRM2, files R/rmst1.R and R/rmst2.R, cited by line
# of that version) and computed by R, independently of mgsurv's Python.

# Written for mgsurv from the formulas of survRM2 1.0-4 (not a copy of its code):
# R/rmst1.R lines 10-35 (rmst1): the area under the KM curve from 0 to tau, rectangles between
# 0, the survfit times <= tau and tau, heights 1, S(t_1), ... (a tau equal to a time adds a
# zero-width one); variance sum_j A_j^2 d_j / (Y_j (Y_j - d_j)), A_j the area from t_j to tau,
# the term 0 where Y_j = d_j; no n/(n-1) factor. RMTL = tau - RMST with the same variance.
rmst_at <- function(time, status, tau) {
  fit <- survfit(Surv(time, status) ~ 1)
  upto <- fit$time <= tau
  area <- diff(c(0, fit$time[upto], tau)) * c(1, fit$surv[upto])
  y <- fit$n.risk[upto]
  d <- fit$n.event[upto]
  greenwood <- ifelse(y == d, 0, d / (y * (y - d)))
  tail_area <- rev(cumsum(rev(area[-1])))
  list(mean = sum(area), var = sum(tail_area^2 * greenwood))
}

interval <- function(estimate, se, alpha = 0.05) {
  z <- qnorm(1 - alpha / 2)
  c(estimate = estimate, se = se, lower = estimate - z * se, upper = estimate + z * se)
}

# R/rmst2.R lines 85-138 (rmst2's tau check) and ?rmst2 Details, cases 1-4. Per arm: the
# largest time x and whether every observation there is an event (min status = 1). Both arms
# end in an event: tau <= max(x0, x1) (case 1); both censored: min (case 4); one of each: max
# when the censored arm is the longer one (case 2), min otherwise (case 3). The default tau is
# that limit; rmst2 stops for a larger requested tau.
tau_limit_pair <- function(time, status, in1) {
  ends <- lapply(c(FALSE, TRUE), function(arm) {
    x <- max(time[in1 == arm])
    c(x = x, event = min(status[in1 == arm & time == x]))
  })
  x <- c(ends[[1]]["x"], ends[[2]]["x"])
  event <- c(ends[[1]]["event"], ends[[2]]["event"]) == 1
  if (all(event)) return(max(x))
  if (!any(event)) return(min(x))
  if (x[!event] >= x[event]) max(x) else min(x)
}

# R/rmst2.R lines 150-151, 157-171 and 181-187 (rmst2, unadjusted): arm 1 against arm 0.
# Difference with SE sqrt(v1 + v0); RMST and RMTL ratios on the log scale, delta method
# SE sqrt(v1 / mu1^2 + v0 / mu0^2), CI exp(log ratio +- z SE); p = 2 pnorm(-|estimate| / SE).
# Rows: estimate, se (of the log ratio for ratios), lower, upper, p.
contrast_rows <- function(time, status, in1, tau) {
  arm1 <- rmst_at(time[in1], status[in1], tau)
  arm0 <- rmst_at(time[!in1], status[!in1], tau)
  p_value <- function(estimate, se) 2 * pnorm(-abs(estimate) / se)
  difference <- arm1$mean - arm0$mean
  se_difference <- sqrt(arm1$var + arm0$var)
  log_ratio_row <- function(mu1, mu0) {
    log_ratio <- log(mu1) - log(mu0)
    se <- sqrt(arm1$var / mu1^2 + arm0$var / mu0^2)
    ci <- interval(log_ratio, se)
    c(exp(log_ratio), se, exp(ci[["lower"]]), exp(ci[["upper"]]), p_value(log_ratio, se))
  }
  rbind(
    c(interval(difference, se_difference), p_value(difference, se_difference)),
    log_ratio_row(arm1$mean, arm0$mean),
    log_ratio_row(tau - arm1$mean, tau - arm0$mean)
  )
}

# rmst2 is two-arm; mgsurv reports k groups at one common tau. The default is the largest tau
# rmst2 accepts for every pair of groups (the smallest of the pairwise defaults, since rmst2's
# default is its own limit); a requested tau must pass rmst2's check for every pair.
common_tau <- function(time, status, group, order, tau = NULL) {
  pairs <- combn(order, 2, simplify = FALSE)
  limits <- sapply(pairs, function(p) {
    keep <- group %in% p
    tau_limit_pair(time[keep], status[keep], group[keep] == p[2])
  })
  if (!is.null(tau) && tau > min(limits)) {
    stop("survRM2's rmst2 stops: tau must be shorter than or equal to ", round(min(limits), 2))
  }
  if (is.null(tau)) min(limits) else tau
}
