# Render bench/report.Rmd on a cohort CSV:
#
#   Rscript bench/render_report.R COHORT.csv OUTDIR
#
# writes OUTDIR/report.html (self-contained) and nothing outside OUTDIR: knitting, its
# figures and pandoc's intermediate files happen in OUTDIR and are removed afterwards. Runs
# from any working directory; two runs with different OUTDIRs can run side by side.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) {
  stop("usage: Rscript bench/render_report.R COHORT.csv OUTDIR")
}
csv <- normalizePath(args[1], mustWork = TRUE)
dir.create(args[2], showWarnings = FALSE, recursive = TRUE)
outdir <- normalizePath(args[2], mustWork = TRUE)

# report.Rmd sits next to this script.
script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
rmd <- file.path(dirname(normalizePath(script)), "report.Rmd")

rmarkdown::render(rmd, params = list(csv = csv), output_file = "report.html",
                  output_dir = outdir, intermediates_dir = outdir, knit_root_dir = outdir,
                  envir = globalenv(), quiet = TRUE)
