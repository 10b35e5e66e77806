# Reference results for the multinomial logit of the imputation (tests/test_chained_imputation.py):
# nnet's multinom, as R mice's polyreg fits it, with case weights, on synthetic_400's PD-L1
# (three levels) against age and serum Mg, with weight 0.5 for every 4th patient; the
# predicted probabilities of every patient (predict(type = "probs")). multinom is run to a
# tight tolerance (reltol 1e-12) so that the fixture is its maximum-likelihood fit.
#
# Run by hand from the repository root when the dataset changes:
#   apt-get install r-base-core r-cran-jsonlite (nnet is one of R's recommended packages)
#   Rscript tests/reference/multinomial.R
# It writes tests/reference/fixtures/multinomial_synthetic_400.json. R is not a test dependency.

suppressPackageStartupMessages({
  library(nnet)
  library(jsonlite)
})

syn <- read.csv("tests/reference/data/synthetic_400.csv", stringsAsFactors = FALSE)
syn$pdl1 <- factor(syn$pdl1, levels = sort(unique(syn$pdl1)))
w <- ifelse(seq_len(nrow(syn)) %% 4 == 0, 0.5, 1)
fit <- multinom(pdl1 ~ age + mg_mmol_l, data = syn, weights = w, trace = FALSE,
                maxit = 1000, reltol = 1e-12, abstol = 1e-20)
write_json(list(levels = levels(syn$pdl1), weights = w,
                probabilities = unname(predict(fit, type = "probs"))),
           "tests/reference/fixtures/multinomial_synthetic_400.json", digits = NA,
           auto_unbox = TRUE, pretty = FALSE)
