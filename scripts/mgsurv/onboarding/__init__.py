"""``mgsurv init``: from a new cohort file to a proposed column mapping and study settings.

:mod:`~mgsurv.onboarding.values` guesses from a column's values (units, event codes, date
format, treatment arms, covariate types), :mod:`~mgsurv.onboarding.columns` which column
holds what, :mod:`~mgsurv.onboarding.proposal` puts them together for one file, and
:mod:`~mgsurv.onboarding.writing` writes them as commented YAML for the user to review.
Nothing here runs inside the workflow: it uses only the files the user passes.
"""
