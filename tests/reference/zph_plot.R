# Reference results for the proportional-hazards plots (tests/test_zph.py): R survival's
# cox.zph(fit, transform, terms = FALSE), one column of scaled Schoenfeld residuals per
# coefficient, and the smooth plot.cox.zph draws through them with its +-2 SE band.
#
# Run by hand from the repository root when datasets or reported quantities change:
#   apt-get install r-base-core r-cran-survival r-cran-jsonlite
#   Rscript tests/reference/zph_plot.R
# It writes tests/reference/fixtures/zph_plot_<case>.json. R is not a test dependency.
#
# The smooth is plot.cox.zph's own computation (survival 3.5-3, R/plot.cox.zph.R; print
# survival:::plot.cox.zph to read it), run here without drawing: a natural cubic spline
# (splines::ns, df = 4, intercept) in the transformed time, its knots placed on the 40
# prediction points and the event times together, fitted to each coefficient's residuals by
# least squares (qr), predicted at the 40 points, with the band yhat +- 2 sqrt(var[i, i] *
# diag(P (X'X)^-1 P')).

suppressPackageStartupMessages({
  library(survival)
  library(splines)
  library(jsonlite)
})

data_dir <- "tests/reference/data"
out_dir <- "tests/reference/fixtures"
versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))

smooth_entry <- function(zp, df = 4, nsmo = 40) {
  xx <- zp$x
  yy <- zp$y
  pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
  lmat <- ns(c(pred.x, xx), df = df, intercept = TRUE)
  pmat <- lmat[1:nsmo, ]
  xmat <- lmat[-(1:nsmo), ]
  lapply(seq_len(ncol(yy)), function(i) {
    y <- yy[, i]
    keep <- !is.na(y)
    qmat <- qr(xmat[keep, ])
    yhat <- pmat %*% qr.coef(qmat, y[keep])
    bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
    xtx <- bk %*% t(bk)
    seval <- ((pmat %*% xtx) * pmat) %*% rep(1, df)
    band <- 2 * sqrt(zp$var[i, i] * seval)
    list(coefficient = colnames(yy)[i], x = pred.x, fit = c(yhat), lower = c(yhat - band),
         upper = c(yhat + band))
  })
}

plot_case <- function(name, formula, data, transforms) {
  fit <- coxph(formula, data = data, ties = "efron", model = TRUE,
               control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
  results <- lapply(transforms, function(tr) {
    zp <- cox.zph(fit, transform = tr, terms = FALSE)
    y <- unname(as.data.frame(unclass(zp$y)))
    names(y) <- colnames(zp$y)
    list(x = zp$x, y = as.list(y), var = unname(zp$var), smooth = smooth_entry(zp))
  })
  names(results) <- transforms
  write_json(list(versions = versions, formula = deparse(formula),
                  coef_names = names(coef(fit)), coef = unname(coef(fit)), zph = results),
             file.path(out_dir, paste0("zph_plot_", name, ".json")), digits = NA,
             auto_unbox = TRUE, na = "null", pretty = TRUE)
}

# Veteran: celltype is a 4-level factor (3 coefficients, one panel each).
vet <- read.csv(file.path(data_dir, "veteran.csv"))
vet$celltype <- factor(vet$celltype, levels = c("squamous", "smallcell", "adeno", "large"))
plot_case("veteran", Surv(time, status) ~ trt + celltype + karno + age, vet,
          c("km", "rank", "identity", "log"))

# The synthetic cohort with mgsurv's default model (pdl1: 2 coefficients).
syn <- read.csv(file.path(data_dir, "synthetic_400.csv"), stringsAsFactors = FALSE)
syn$mg_low <- as.numeric(syn$mg_mmol_l < 0.70)
syn$arm <- factor(syn$arm, levels = c("chemotherapy", "immunotherapy"))
syn$sex <- factor(syn$sex, levels = c("male", "female"))
syn$ecog <- factor(syn$ecog, levels = c(0, 1))
syn$histology <- factor(syn$histology, levels = c("non-squamous", "squamous"))
syn$pdl1 <- factor(syn$pdl1, levels = c("<1%", "1-49%", ">=50%"))
plot_case("synthetic_400_pfs",
          Surv(pfs_months, pfs_event) ~ mg_low + arm + age + sex + ecog + histology + pdl1, syn,
          "km")
