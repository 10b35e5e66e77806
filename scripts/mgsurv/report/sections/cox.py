"""The Cox parts of the report: univariable, multivariable, stratified, interaction, per
arm and continuous models, the forest plot of the adjusted hazard ratios, and the
proportional-hazards checks with scaled Schoenfeld residual plots of flagged terms."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from mgsurv.contract import (
    CLINICAL_GROUPING,
    CONTINUOUS,
    CONTINUOUS_INTERACTION,
    INTERACTION,
    KEY_TERM,
    MIN_EVENTS_PER_PARAMETER,
    MULTIVARIABLE,
    PH_ALPHA,
    PH_GLOBAL,
    RESIDUALS_MODEL,
    STRATIFIED,
    TIME_SPLIT,
    UNIVARIABLE,
    arm_model,
    continuous_arm_model,
    parse_term,
)
from mgsurv.report.disclosure import SUPPRESSED, format_patients, is_active, is_suppressed
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import MAX_SCATTER_POINTS, schoenfeld_figure
from mgsurv.report.forest import REFERENCE, forest_figure
from mgsurv.report.formatting import (
    format_ci,
    format_count,
    format_hr,
    format_number,
    format_p,
    in_sentence,
    is_missing,
    p_phrase,
)
from mgsurv.report.labels import (
    PH_FLAG,
    adjusted_for,
    arms_of,
    cutpoint_caveat,
    exploratory_notes,
    hr_text,
    model_label,
    p_cell,
    ph_term_label,
    term_parts,
)
from mgsurv.report.tables import Table, Tables, rows_of, slug, table
from mgsurv.settings import ReportSettings

COX_HEADINGS = ["Variable", "Comparison", "HR", "95% CI", "p", "n", "Events"]
FOREST_MODEL = MULTIVARIABLE
# Counts of patients in the statistics stage's notes ('all 142 events elsewhere', 'among
# the 12 patients', 'among the 40 complete cases').
NOTE_COUNT = re.compile(r"\b\d+(?= (?:events|patients|complete cases)\b)")


def model_rows(endpoint_cox: pd.DataFrame, model: str) -> list[list[str]]:
    """The Cox table rows of one model."""
    return [cox_row(r) for _, r in rows_of(endpoint_cox, model=model).iterrows()]


def model_statistics_table(endpoint_models: pd.DataFrame) -> Table:
    """Per model: n, events, events per parameter (flagged below the minimum), concordance,
    LR test."""
    rows = [
        [
            str(row["model"]),
            str(row["terms"]),
            format_patients(row["n"]),
            format_patients(row["events"]),
            events_per_parameter(row),
            format_number(row["concordance"], 3),
            format_p(row["lr_p"]),
            model_note(row),
        ]
        for _, row in endpoint_models.iterrows()
    ]
    return table(
        f"Model statistics (events per parameter below {MIN_EVENTS_PER_PARAMETER} risks"
        " overfitting: Peduzzi 1995;"
        " the note says what could not be estimated and why, or what was done about it)",
        [
            "Model",
            "Terms",
            "n",
            "Events",
            "Events per parameter",
            "Concordance",
            "LR test p",
            "Note",
        ],
        rows,
        2,
    )


def events_per_parameter(row: pd.Series) -> str:
    """A model's events per parameter, flagged below MIN_EVENTS_PER_PARAMETER; suppressed
    with its events (times the parameters, it is the count of events)."""
    flag = f" (below {MIN_EVENTS_PER_PARAMETER})" if str(row["epv_below_10"]) == "True" else ""
    if is_suppressed(row["events"]):
        return SUPPRESSED + flag
    return format_number(row["events_per_parameter"], 1) + flag


def model_note(row: pd.Series) -> str:
    """The statistics stage's note on a model ('' when there is none), its counts of
    patients and events shown like every other (suppressed below k)."""
    note = row.get("note", "")
    if pd.isna(note):
        return ""
    return NOTE_COUNT.sub(lambda count: format_patients(int(count[0])), str(note))


def cox_tables(
    endpoint_cox: pd.DataFrame, endpoint_models: pd.DataFrame, caveat: str
) -> list[Table]:
    """The Cox tables of one endpoint: univariable, multivariable, stratified, interaction,
    per arm, continuous, and the model statistics. (The spline model is drawn, not
    tabulated: its coefficients mean nothing one by one.)"""
    covariates = adjusted_for(endpoint_cox) or "none"
    strata = ", ".join(rows_of(endpoint_models, model=STRATIFIED)["strata"].astype(str))
    arm_rows = [
        [arm, *cox_row(row)]
        for arm in arms_of(endpoint_cox)
        for _, row in rows_of(endpoint_cox, model=arm_model(arm)).iterrows()
    ]
    continuous_arm_rows = [
        [arm, *cox_row(row)]
        for arm in arms_of(endpoint_cox)
        for _, row in rows_of(endpoint_cox, model=continuous_arm_model(arm)).iterrows()
    ]
    univariable = rows_of(endpoint_cox, model=UNIVARIABLE)
    return [
        table(
            "Univariable models (each variable fitted on its own)",
            COX_HEADINGS,
            model_rows(endpoint_cox, UNIVARIABLE),
            2,
            notes=exploratory_notes(univariable["term"], caveat),
        ),
        table(
            f"Multivariable model (serum Mg group adjusted for: {covariates})",
            COX_HEADINGS,
            model_rows(endpoint_cox, MULTIVARIABLE),
            2,
        ),
        table(
            f"Stratified model (separate baseline hazards by: {strata or 'none'})",
            COX_HEADINGS,
            model_rows(endpoint_cox, STRATIFIED),
            2,
        ),
        table(
            "Serum Mg group × arm interaction model (the interaction row tests whether the"
            " low-Mg effect differs between arms; the last rows give it within each arm)",
            COX_HEADINGS,
            model_rows(endpoint_cox, INTERACTION),
            2,
        ),
        table("Models within each treatment arm", ["Arm", *COX_HEADINGS], arm_rows, 3),
        table(
            "Serum Mg as a continuous variable",
            COX_HEADINGS,
            model_rows(endpoint_cox, CONTINUOUS),
            2,
        ),
        table(
            "Serum Mg as a continuous variable × arm interaction model (the interaction row"
            " tests whether its effect differs between arms; the last rows give it within"
            " each arm)",
            COX_HEADINGS,
            model_rows(endpoint_cox, CONTINUOUS_INTERACTION),
            2,
        ),
        table(
            "Serum Mg as a continuous variable, models within each treatment arm",
            ["Arm", *COX_HEADINGS],
            continuous_arm_rows,
            3,
        ),
        model_statistics_table(endpoint_models),
    ]


def ph_flag(p: float) -> str:
    """The warning for a proportional-hazards test with p below PH_ALPHA, else ''."""
    return PH_FLAG if not is_missing(p) and p < PH_ALPHA else ""


def ph_rows(ph: pd.DataFrame, with_model: bool) -> list[list[str]]:
    """PH test rows: (model,) term, chi-square, df, p and the flag."""
    return [
        [
            *([model_label(str(row["model"]))] if with_model else []),
            ph_term_label(str(row["term"])),
            format_number(row["chi2"], 2),
            format_count(row["df"]),
            format_p(row["p"]),
            ph_flag(row["p"]),
        ]
        for _, row in ph.iterrows()
    ]


def flagged_terms(model_ph: pd.DataFrame) -> list[str]:
    """Terms (not the global test) of one model's PH tests with p below PH_ALPHA."""
    terms = model_ph[model_ph["term"].astype(str) != PH_GLOBAL]
    return [str(row["term"]) for _, row in terms.iterrows() if ph_flag(row["p"])]


def schoenfeld_caption(name: str, points: pd.DataFrame, p: float, settings: ReportSettings) -> str:
    """What a residual figure of one term shows, including which of its points are drawn."""
    n = int(points["residuals"].iloc[0])
    return (
        f"{name}: scaled Schoenfeld residuals (estimated β(t)) of the {RESIDUALS_MODEL} model at"
        f" each event, one panel per coefficient, against time spaced by the"
        f" {settings.ph_transform} transform; solid line and band: a natural spline smooth"
        " (4 df) with ±2 standard errors, as R's plot(cox.zph); dashed: the Cox estimate,"
        " which a flat β(t) matches under proportional hazards; grey: 0 (no effect). PH test"
        f" {p_phrase(p)}.{points_drawn(n)}"
    )


def points_drawn(n: int) -> str:
    """Which of n residuals a plot draws: none when suppressing small counts (each is one
    patient's event), else all or, beyond MAX_SCATTER_POINTS, an even sample."""
    if is_active():
        return " Individual residuals are not drawn (small-count suppression, see Methods)."
    shown = min(n, MAX_SCATTER_POINTS)
    if shown == n:
        return ""
    return (
        f" {shown} of {n} residuals are drawn, evenly spaced in time order;"
        " the smooth uses all of them."
    )


def schoenfeld_figures(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> list[dict]:
    """A residual figure for every term of the multivariable model flagged by its PH test,
    one panel per coefficient of the term."""
    model_ph = rows_of(tables["ph_test"], endpoint=endpoint, model=RESIDUALS_MODEL)
    residuals = rows_of(tables["schoenfeld"], endpoint=endpoint, model=RESIDUALS_MODEL)
    smooth = rows_of(tables["schoenfeld_smooth"], endpoint=endpoint, model=RESIDUALS_MODEL)
    shown = []
    for term in flagged_terms(model_ph):
        points = rows_of(residuals, variable=term)
        curves = rows_of(smooth, variable=term)
        if points.empty or curves.empty:
            continue
        name = ph_term_label(term)
        coefficients = dict.fromkeys(curves["term"].astype(str))  # those with a smooth
        titles = {c: term_parts(c)[1] for c in coefficients}
        p = float(rows_of(model_ph, term=term)["p"].iloc[0])
        figure = schoenfeld_figure(points, curves, titles, f"{label}: {name}")
        shown.append(
            figures.add(f"zph-{endpoint}-{slug(term)}", figure)
            | {"caption": schoenfeld_caption(name, points, p, settings)}
        )
    return shown


def ph_verdict(model_ph: pd.DataFrame) -> str:
    """One sentence on the multivariable model's PH tests: flagged terms and the global p."""
    names = [ph_term_label(t) for t in flagged_terms(model_ph)]
    overall = rows_of(model_ph, term=PH_GLOBAL)["p"]
    global_text = f" Global test: {p_phrase(overall.iloc[0])}." if len(overall) else ""
    if not names:
        return (
            f"No term had p < {PH_ALPHA:g} (no evidence against proportional hazards).{global_text}"
        )
    return (
        f"Terms with p < {PH_ALPHA:g}, {PH_FLAG}: {', '.join(names)}; their residuals are"
        f" plotted below, and the RMST and landmark rates do not rely on the assumption."
        f"{global_text}"
    )


def ph_remedies(endpoint_cox: pd.DataFrame, model_ph: pd.DataFrame, strata: tuple) -> list[str]:
    """For each term of the multivariable model that fails its PH test, the model of the
    results that does without the assumption for it, with the low-Mg HR it gives: a
    stratum (e.g. the arm) -> the stratified model and the models within each arm; the Mg
    group -> the time-split model's HR before and after the split."""
    remedies = []
    for term in flagged_terms(model_ph):
        name = ph_term_label(term)
        if term in strata:
            row = rows_of(endpoint_cox, model=STRATIFIED, term=KEY_TERM)
            if len(row):
                remedies.append(
                    f"{name[:1].upper()}{name[1:]} fails the test: the {STRATIFIED} model gives"
                    f" each level of {in_sentence(name)} its own baseline hazard, assuming"
                    " nothing about how they compare over time; it gives the low-Mg"
                    f" {hr_text(row.iloc[0])}, and the models within each arm (see the Cox"
                    " regression) need no term for it."
                )
        elif term == CLINICAL_GROUPING:
            split = rows_of(endpoint_cox, model=TIME_SPLIT)
            periods = split[split["term"].astype(str).str.startswith(KEY_TERM)]
            if len(periods) == 2:
                early, late = (row for _, row in periods.iterrows())
                remedies.append(
                    "The serum Mg group fails the test: its HR changes over follow-up. The"
                    f" {TIME_SPLIT} model gives it {term_parts(str(early['term']))[1]}"
                    f" {hr_text(early)}, and {term_parts(str(late['term']))[1]} {hr_text(late)}."
                )
    return remedies


def ph_section(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """PH tests of one endpoint: the multivariable model in full, the other models folded
    away under a count of their flagged rows, and residual plots of the flagged terms."""
    ph = rows_of(tables["ph_test"], endpoint=endpoint)
    model_ph = rows_of(ph, model=RESIDUALS_MODEL)
    others = ph[ph["model"].astype(str) != RESIDUALS_MODEL]
    flagged = sum(bool(ph_flag(p)) for p in others["p"])
    models = ", ".join(map(model_label, dict.fromkeys(others["model"].astype(str))))
    columns = ["Term", "Chi-square", "df", "p", "Proportional hazards"]
    return {
        "id": f"ph-{slug(endpoint)}",
        "label": label,
        "verdict": ph_verdict(model_ph),
        "remedies": ph_remedies(
            rows_of(tables["cox"], endpoint=endpoint), model_ph, tuple(settings.strata)
        ),
        "table": table(
            f"{RESIDUALS_MODEL.capitalize()} model: test per term and global",
            columns,
            ph_rows(model_ph, with_model=False),
            1,
            trailing_text=1,
        ),
        "others_summary": f"Other models ({models}): {flagged} of {len(others)} tests with"
        f" p < {PH_ALPHA:g}",
        "others": table(
            "Other models: test per term and global",
            ["Model", *columns],
            ph_rows(others, with_model=True),
            2,
            trailing_text=1,
        ),
        "time_split": time_split_table(endpoint, tables),
        "figures": schoenfeld_figures(endpoint, label, tables, settings, figures),
    }


def time_split_table(endpoint: str, tables: Tables) -> Table | None:
    """The time-split model beside a flagged PH test of the Mg group (the analysis fits it
    only then): the low-Mg HR before and after the median event time, the other terms as
    in the multivariable model, and the model's note saying why it is there. None when the
    endpoint has no such model."""
    endpoint_cox = rows_of(tables["cox"], endpoint=endpoint)
    if rows_of(endpoint_cox, model=TIME_SPLIT).empty:
        return None
    note = rows_of(rows_of(tables["cox_models"], endpoint=endpoint), model=TIME_SPLIT)
    notes = [model_note(row) for _, row in note.iterrows()]
    return table(
        "Time-split model (the serum Mg group's hazard ratio before and after the median"
        " event time, as R's survSplit; the multivariable model's other terms alike)",
        COX_HEADINGS,
        model_rows(endpoint_cox, TIME_SPLIT),
        2,
        notes=[n for n in notes if n],
    )


def forest_rows(model_cox: pd.DataFrame) -> pd.DataFrame:
    """Every term of one model as forest rows (variable, label, hr, CI, p, kind); before the
    first level of a categorical variable, its reference level as a "reference" row."""
    rows = []
    seen = set()
    for _, row in model_cox.iterrows():
        term = str(row["term"])
        variable, comparison = term_parts(term)
        if parse_term(term).kind == "categorical" and " vs " in comparison:
            level, reference = comparison.split(" vs ", 1)
            if variable not in seen:
                rows.append(
                    {"variable": variable, "label": reference, "kind": REFERENCE}
                    | dict.fromkeys(["hr", "hr_lower", "hr_upper", "p"], float("nan"))
                )
        else:
            level = comparison
        seen.add(variable)
        rows.append(
            {
                "variable": variable,
                "label": level,
                "kind": "estimate",
                "hr": float(row["hr"]),
                "hr_lower": float(row["hr_lower"]),
                "hr_upper": float(row["hr_upper"]),
                "p": float(row["p"]),
            }
        )
    columns = ["variable", "label", "hr", "hr_lower", "hr_upper", "p", "kind"]
    return pd.DataFrame(rows, columns=columns)


def forest(endpoint: str, label: str, tables: Tables, figures: Figures) -> dict[str, Any] | None:
    """The forest plot of the multivariable model's hazard ratios (None without the model)."""
    endpoint_cox = rows_of(tables["cox"], endpoint=endpoint)
    model_cox = rows_of(endpoint_cox, model=FOREST_MODEL)
    if model_cox.empty:
        return None
    stats = rows_of(tables["cox_models"], endpoint=endpoint, model=FOREST_MODEL)
    counts = (
        f" ({format_patients(stats['n'].iloc[0])} patients,"
        f" {format_patients(stats['events'].iloc[0])}"
        " events)"
        if len(stats)
        else ""
    )
    figure = forest_figure(
        forest_rows(model_cox),
        f"{label}: adjusted hazard ratios, {FOREST_MODEL} Cox model",
        xlabel="Hazard ratio (log scale); above 1: a higher rate of the event",
    )
    return figures.add(f"forest-{endpoint}", figure) | {
        "caption": f"{label}: hazard ratios of every term of the {FOREST_MODEL} Cox model{counts},"
        f" each adjusted for the others ({adjusted_for(endpoint_cox) or 'none'} besides"
        " serum Mg). Squares and lines: HR and 95% CI; open circles: reference levels"
        " (HR 1); log scale."
    }


def cox_section(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """The forest plot and the Cox tables of one endpoint."""
    return {
        "id": f"cox-{slug(endpoint)}",
        "label": label,
        "forest": forest(endpoint, label, tables, figures),
        "tables": cox_tables(
            rows_of(tables["cox"], endpoint=endpoint),
            rows_of(tables["cox_models"], endpoint=endpoint),
            cutpoint_caveat(tables),
        ),
    }


def cox_row(row: pd.Series) -> list[str]:
    """One Cox table row: variable, comparison, HR, CI, p, n, events."""
    variable, comparison = term_parts(str(row["term"]))
    return [
        variable,
        comparison,
        format_hr(row["hr"]),
        format_ci(row["hr_lower"], row["hr_upper"]),
        p_cell(row["p"], str(row["term"])),
        format_patients(row["n"]),
        format_patients(row["events"]),
    ]
