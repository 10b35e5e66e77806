"""The survival parts of the report: summary, patient flow, follow-up, Kaplan-Meier
figures with their risk tables, medians, landmark rates, group comparisons and RMST."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mgsurv.contract import (
    ALL_PATIENTS,
    CLINICAL_GROUPING,
    FLOW_COLUMNS,
    IMMUNOTHERAPY_TREATMENT,
    INTERACTION,
    KEY_TERM,
    LOGRANK_TEST,
    MULTIVARIABLE,
    PAIRWISE_TEST,
    STRATIFIED_LOGRANK_TEST,
    TREND_TEST,
    UNIVARIABLE,
    arm_model,
    parse_rmst_group,
    rmst_contrast,
)
from mgsurv.report.disclosure import SUPPRESSED, format_patients, is_suppressed, min_count
from mgsurv.report.drawing import Figures
from mgsurv.report.figures import (
    axis_times,
    group_order,
    km_figure,
    risk_table_rows,
    truncation_time,
)
from mgsurv.report.formatting import (
    format_ci,
    format_count,
    format_estimable,
    format_hr,
    format_median,
    format_months,
    format_number,
    format_p,
    format_percent,
    format_two,
    in_sentence,
    is_missing,
    p_phrase,
    word_list,
)
from mgsurv.report.labels import (
    RMST_MEASURES,
    TEST_LABELS,
    adjust_label,
    adjusted_for,
    arms_of,
    cutpoint_caveat,
    exploratory_notes,
    grouping_label,
    hr_text,
    is_exploratory,
    p_cell,
    term_parts,
    threshold_text,
)
from mgsurv.report.primary import (
    CONTRASTS,
    Contrast,
    EndpointAnswer,
    Estimate,
    Treatments,
)
from mgsurv.report.provenance import RunRecord
from mgsurv.report.tables import Table, Tables, blank_repeats, rows_of, slug, table
from mgsurv.settings import ReportSettings

FLOW_HEADINGS = dict(
    zip(FLOW_COLUMNS, ("Step", "Reason", "Before", "Excluded", "After"), strict=True)
)
DATA_CUTOFF_FALLBACK = "not recorded"
# What the event of each endpoint is, in a few plain words.
EVENT_WORDS = {"pfs": "progression or death", "os": "death"}


def min_at_risk(settings: ReportSettings) -> int:
    """The configured km_min_at_risk, raised to the suppression's k: where fewer than k
    patients remain at risk, each step of a curve would show one patient's event."""
    return max(int(settings.km_min_at_risk), min_count())


def data_cutoff(run: RunRecord) -> str:
    """The data cut-off as recorded in the run's provenance, or 'not recorded'."""
    value = run.data_cutoff
    return DATA_CUTOFF_FALLBACK if value is None or str(value) == "" else str(value)


def median_cells(row: pd.Series) -> list[str]:
    """A km_summary row's median and 95% CI; suppressed for a group of fewer than k
    patients, where the median is one patient's own time."""
    if is_suppressed(row["n"]):
        return [SUPPRESSED, SUPPRESSED]
    return [
        format_median(row["median"]),
        format_ci(row["median_lower"], row["median_upper"], format_median),
    ]


def median_rows(endpoint_summary: pd.DataFrame, groups: pd.DataFrame) -> list[list[str]]:
    """Median-survival table rows: grouping, group, n, events, median, 95% CI."""
    return [
        [
            grouping_label(str(row["grouping"]), groups),
            str(row["group"]),
            format_patients(row["n"]),
            format_patients(row["events"]),
            *median_cells(row),
        ]
        for _, row in endpoint_summary.iterrows()
    ]


def landmark_cell(row: pd.Series) -> str:
    """'30.9 (28.1–33.9)': survival in % with its 95% CI; 'NE' when not estimable."""
    if is_missing(row["surv"]):
        return "NE"
    return f"{format_percent(row['surv'])} {format_ci(row['lower'], row['upper'], format_percent)}"


def landmark_table(endpoint_landmarks: pd.DataFrame, groups: pd.DataFrame) -> Table:
    """Survival at each landmark time: one row per group, one column per time."""
    times = list(dict.fromkeys(endpoint_landmarks["time"].astype(float)))
    cells = {
        (str(row["grouping"]), str(row["group"]), float(row["time"])): landmark_cell(row)
        for _, row in endpoint_landmarks.iterrows()
    }
    keys = dict.fromkeys((grouping, group) for grouping, group, _ in cells)
    rows = [
        [
            grouping_label(grouping, groups),
            group,
            *(cells.get((grouping, group, t), "NE") for t in times),
        ]
        for grouping, group in keys
    ]
    return table(
        "Survival at landmark times, % (95% CI); NE: not estimable (nobody followed that long)",
        ["Grouping", "Group", *(f"{t:g} months" for t in times)],
        blank_repeats(rows),
        2,
    )


def test_label(row: pd.Series, settings: ReportSettings) -> str:
    """How a logrank.tsv row tested, in words: its strata, trend scores or p adjustment."""
    test = str(row["test"])
    if test == STRATIFIED_LOGRANK_TEST:
        return f"Log-rank stratified by {', '.join(settings.strata)}"
    if test == TREND_TEST:
        return f"Trend (scores 1–{len(str(row['groups']).split(' vs '))} in the order listed)"
    if test == PAIRWISE_TEST:
        return f"Pairwise log-rank ({adjust_label(settings.pairwise_adjust)}-adjusted p)"
    return TEST_LABELS.get(test, test)


def logrank_rows(
    endpoint_logrank: pd.DataFrame, groups: pd.DataFrame, settings: ReportSettings
) -> list[list[str]]:
    """Test table rows: grouping, test, groups compared, chi-square, df, p, adjusted p."""
    return [
        [
            grouping_label(str(row["grouping"]), groups),
            test_label(row, settings),
            str(row["groups"]),
            format_number(row["statistic"], 2),
            format_count(row["df"]),
            p_cell(row["p"], str(row["grouping"])),
            format_p(row["p_adjusted"]),
        ]
        for _, row in endpoint_logrank.iterrows()
    ]


def logrank_p(endpoint_logrank: pd.DataFrame, grouping: str) -> float | None:
    """The log-rank p of one grouping, or None if the test is not in the table."""
    rows = rows_of(endpoint_logrank, grouping=grouping, test=LOGRANK_TEST)
    return float(rows["p"].iloc[0]) if len(rows) else None


def truncation_note(curves: pd.DataFrame, groups: list[str], minimum: int) -> str:
    """Where each curve of a figure stops (the last time with at least `minimum` at risk)."""
    if minimum <= 0:
        return "Curves are drawn to the last follow-up time."
    stops = []
    for group in groups:
        stop = truncation_time(curves[curves["group"].astype(str) == group], minimum)
        stops.append(
            f"{group} not drawn (fewer than {minimum} patients)"
            if stop is None
            else f"{group} at {format_months(stop)} months"
        )
    return (
        f"Curves are truncated at the last time at which at least {minimum} patients"
        f" remained at risk ({', '.join(stops)})."
    )


def risk_table(curves: pd.DataFrame, groups: list[str], risk_times: list[float]) -> Table:
    """The numbers under a KM plot as a table: per group, at risk, events and censored."""
    rows = [
        [group, measure, *map(format_patients, counts)]
        for group, measure, counts in risk_table_rows(curves, groups, risk_times)
    ]
    return table(
        "Numbers under the figure: at risk at each time, and events and censored before it",
        ["Group", "Count", *(f"{t:g} months" for t in risk_times)],
        blank_repeats(rows),
        2,
        numbered=False,
    )


def km_figures(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> list[dict[str, Any]]:
    """One Kaplan-Meier figure per grouping of an endpoint, with its numbers at risk,
    events and censored as a table too; the cut-point grouping's says its p is uncorrected."""
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    curves = rows_of(tables["km_curves"], endpoint=endpoint)
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    minimum = min_at_risk(settings)
    risk_times = axis_times(curves, settings.risk_table_times, minimum)
    shown = []
    for grouping in dict.fromkeys(summary["grouping"].astype(str)):
        title = f"{label} by {grouping_label(grouping, tables['mg_groups'])}"
        exploratory = is_exploratory(grouping)
        grouping_curves = rows_of(curves, grouping=grouping)
        grouping_summary = rows_of(summary, grouping=grouping)
        figure = km_figure(
            grouping_curves,
            grouping_summary,
            logrank_p(logrank, grouping),
            title,
            risk_times,
            min_at_risk=minimum,
            p_note=" (uncorrected for the cut search)" if exploratory else "",
        )
        groups = group_order(grouping_curves, grouping_summary)
        shown.append(
            figures.add(f"km-{endpoint}-{grouping}", figure)
            | {
                "title": title,
                "truncation": truncation_note(grouping_curves, groups, minimum),
                "note": cutpoint_caveat(tables) if exploratory else "",
                "table": risk_table(grouping_curves, groups, risk_times),
            }
        )
    return shown


def km_section(
    endpoint: str, label: str, tables: Tables, settings: ReportSettings, figures: Figures
) -> dict[str, Any]:
    """Figures plus the median, landmark and log-rank tables of one endpoint."""
    median_columns = ["Grouping", "Group", "n", "Events", "Median (months)", "95% CI"]
    logrank_columns = ["Grouping", "Test", "Groups compared", "Chi-square", "df", "p", "p adjusted"]
    groups = tables["mg_groups"]
    logrank = rows_of(tables["logrank"], endpoint=endpoint)
    summary = rows_of(tables["km_summary"], endpoint=endpoint)
    return {
        "id": f"km-{slug(endpoint)}",
        "label": label,
        "figures": km_figures(endpoint, label, tables, settings, figures),
        "tables": [
            table(
                "Median survival (NR: not reached)",
                median_columns,
                blank_repeats(median_rows(summary, groups)),
                2,
            ),
            landmark_table(rows_of(tables["landmarks"], endpoint=endpoint), groups),
            table(
                "Group comparisons (NA: not applicable)",
                logrank_columns,
                blank_repeats(logrank_rows(logrank, groups, settings)),
                3,
                notes=exploratory_notes(logrank["grouping"], cutpoint_caveat(tables)),
            ),
        ],
    }


def followup_table(endpoint: str, label: str, tables: Tables) -> Table:
    """Median follow-up of all patients and of each Mg group of one endpoint."""
    followup = rows_of(tables["followup"], endpoint=endpoint)
    rows = [
        [
            "All patients"
            if str(row["grouping"]) == ALL_PATIENTS
            else grouping_label(str(row["grouping"]), tables["mg_groups"]),
            "" if str(row["group"]) == ALL_PATIENTS else str(row["group"]),
            format_estimable(row["median_followup"]),
            format_ci(row["lower"], row["upper"], format_estimable),
        ]
        for _, row in followup.iterrows()
    ]
    return table(
        f"{label}: median follow-up by reverse Kaplan-Meier (NE: not estimable)",
        ["Grouping", "Group", "Median follow-up (months)", "95% CI"],
        blank_repeats(rows),
        2,
    )


def followup_sentence(endpoint_followup: pd.DataFrame) -> str:
    """All patients' median follow-up as one sentence ('' when the table lacks it)."""
    rows = rows_of(endpoint_followup, group=ALL_PATIENTS)
    if rows.empty:
        return ""
    row = rows.iloc[0]
    ci = format_ci(row["lower"], row["upper"], format_estimable)
    return (
        f"Median follow-up (reverse Kaplan-Meier): {format_estimable(row['median_followup'])}"
        f" months {ci}."
    )


def rmst_measure(label: str) -> tuple[str, str]:
    """(group or comparison, measure) of an rmst.tsv row; an RMTL ratio's comparison reads
    like the RMST ratio's ('low / normal')."""
    kind, group, reference = parse_rmst_group(label)
    if kind == "group":
        return label, RMST_MEASURES[kind]
    compared = "ratio" if kind == "rmtl_ratio" else kind
    return rmst_contrast(compared, group, reference), RMST_MEASURES[kind]


def rmst_table(endpoint: str, label: str, tables: Tables) -> Table:
    """RMST per group and the contrasts of one endpoint, each row with its tau."""
    rmst = rows_of(tables["rmst"], endpoint=endpoint)
    rows = []
    for _, row in rmst.iterrows():
        compared, measure = rmst_measure(str(row["group"]))
        rows.append(
            [
                grouping_label(str(row["grouping"]), tables["mg_groups"]),
                compared,
                measure,
                format_number(row["tau"], 1),
                format_two(row["estimate"]),
                format_ci(row["lower"], row["upper"], format_two),
                p_cell(row["p"], str(row["grouping"])),
            ]
        )
    return table(
        f"{label}: restricted mean survival time (RMST) up to τ; RMST and differences in months"
        " (NA: not applicable)",
        ["Grouping", "Group or comparison", "Measure", "τ (months)", "Estimate", "95% CI", "p"],
        blank_repeats(rows),
        3,
        notes=exploratory_notes(rmst["grouping"], cutpoint_caveat(tables)),
    )


def rmst_sentence(endpoint_rmst: pd.DataFrame) -> str:
    """The clinical groups' RMST and their difference as one sentence ('' without it)."""
    rows = rows_of(endpoint_rmst, grouping=CLINICAL_GROUPING)
    estimates = dict(zip(rows["group"].astype(str), rows["estimate"], strict=True))
    for _, row in rows.iterrows():
        kind, group, reference = parse_rmst_group(str(row["group"]))
        if kind == "difference":
            ci = format_ci(row["lower"], row["upper"], format_two)
            return (
                f"Restricted mean survival up to {format_months(row['tau'])} months: {group}"
                f" {format_two(estimates[group])} vs {reference} {format_two(estimates[reference])}"
                f" months; difference {format_two(row['estimate'])} months {ci},"
                f" {p_phrase(row['p'])}."
            )
    return ""


def key_findings(endpoint_cox: pd.DataFrame) -> list[str]:
    """Plain-language low-vs-normal hazard ratios of one endpoint, one sentence per model."""
    covariates = adjusted_for(endpoint_cox)
    key = rows_of(endpoint_cox, term=KEY_TERM)
    wording = {
        UNIVARIABLE: "Pooled over the arms, unadjusted",
        MULTIVARIABLE: f"Pooled over the arms, adjusted for {covariates}"
        if covariates
        else "Pooled over the arms, multivariable",
    }
    wording |= {
        arm_model(arm): f"Within the {arm} arm (a model of its patients alone)"
        for arm in arms_of(key)
    }
    findings = [
        f"{text}: {hr_text(row)} (n = {format_patients(row['n'])}, "
        f"{format_patients(row['events'])} events)."
        for model, text in wording.items()
        for _, row in rows_of(key, model=model).iterrows()
    ]
    interaction = rows_of(endpoint_cox, model=INTERACTION)
    differs = interaction[interaction["term"].astype(str).str.startswith(f"{KEY_TERM}:")]
    findings += [
        f"Does the low-Mg effect differ between arms ({term_parts(str(row['term']))[1]})?"
        f" Interaction ratio of HRs {format_hr(row['hr'])}"
        f" {format_ci(row['hr_lower'], row['hr_upper'])}, {p_phrase(row['p'])}."
        for _, row in differs.iterrows()
    ]
    return findings


def median_phrase(row: pd.Series) -> str:
    """'low 8.1 months (5.2–11.0)' or, when the median is not reached, 'normal not reached';
    'low suppressed (n <5)' for a group of fewer than k patients."""
    if is_suppressed(row["n"]):
        return f"{row['group']} {SUPPRESSED} (n {format_patients(row['n'])})"
    if is_missing(row["median"]):
        return f"{row['group']} not reached"
    ci = format_ci(row["median_lower"], row["median_upper"], format_median)
    return f"{row['group']} {format_median(row['median'])} months {ci}"


def median_sentence(endpoint_summary: pd.DataFrame) -> str:
    """The clinical groups' medians as one sentence ('' when that grouping is absent)."""
    rows = rows_of(endpoint_summary, grouping=CLINICAL_GROUPING)
    parts = [median_phrase(row) for _, row in rows.iterrows()]
    return f"Median (95% CI): {', '.join(parts)}." if parts else ""


def percent_change(hr: float) -> str:
    """A hazard ratio as a change in the rate: '32% higher', '18% lower', 'no different'."""
    change = 100 * (hr - 1)
    if round(change) == 0:
        return "no different"
    return f"{abs(change):.0f}% {'higher' if change > 0 else 'lower'}"


def plain_words(endpoint: str, estimate: Estimate | None, contrast: Contrast) -> str:
    """The primary population's adjusted HR of the primary contrast as a sentence without
    jargon (pooled over the arms, and called so, when no arm is declared immunotherapy;
    '' when it is not estimable)."""
    if estimate is None or not estimate.estimable or estimate.row is None:
        return ""
    row = estimate.row
    event = EVENT_WORDS.get(endpoint, "the event")
    if contrast.term == KEY_TERM:
        group, reference = term_parts(KEY_TERM)[1].split(" vs ")
        compared = f"with {group} than with {reference} serum Mg"
    else:
        compared = f"{term_parts(contrast.term)[1]} serum Mg"
    sentence = (
        f"In plain words: {POPULATION_WORDS[estimate.pooled]}, after adjustment, the rate of"
        f" {event} was {percent_change(row['hr'])} {compared} (95% CI from"
        f" {percent_change(row['hr_lower'])} to {percent_change(row['hr_upper'])})."
    )
    if row["hr_lower"] <= 1 <= row["hr_upper"]:
        sentence += " The interval includes no difference."
    return sentence


# Who a plain-words sentence is about: (the primary population, pooled over the arms).
POPULATION_WORDS = {False: "among the immunotherapy-treated patients", True: "pooled over the arms"}


def question(
    endpoints: dict[str, str], arms: Treatments, settings: ReportSettings, run: RunRecord
) -> str:
    """The question the report answers, from the threshold, endpoints and arms analysed."""
    outcomes = word_list([in_sentence(label) for label in endpoints.values()])
    if arms.single_arm:
        within = " in these immunotherapy-treated patients"
    elif arms.declared:
        named = (
            ""
            if str(arms.immunotherapy).lower() == IMMUNOTHERAPY_TREATMENT
            else f" ({arms.immunotherapy})"
        )
        within = (
            f" in the patients treated with immunotherapy{named}, and does the"
            f" association differ under {word_list(list(arms.others))}"
        )
    else:
        within = ", overall and within each treatment arm"
    return (
        "Is low baseline serum magnesium (below"
        f" {threshold_text(settings.mg_threshold_mmol_l, run.units)}, the pre-specified"
        f" threshold) associated with shorter {outcomes}{within}?"
    )


def primary_estimate(found: list[EndpointAnswer], endpoint: str) -> Estimate | None:
    """The endpoint's within-immunotherapy estimate, or the pooled one when undeclared."""
    for answer in found:
        if answer.endpoint == endpoint:
            return answer.immunotherapy or answer.pooled
    return None


def summary_section(
    endpoints: dict[str, str],
    tables: Tables,
    found: list[EndpointAnswer],
    arms: Treatments,
    settings: ReportSettings,
    run: RunRecord,
) -> dict[str, Any]:
    """The question, then per endpoint: follow-up, the clinical groups' medians and RMST,
    the low-vs-normal hazard ratios (unadjusted, adjusted, per arm, interaction) and the
    primary estimate (of ``found``, the answers) in plain words."""
    comparison = term_parts(KEY_TERM)[1]
    # these sentences describe all patients: in a cohort of several arms, the arms pooled
    pooled = "" if arms.single_arm else "Pooled over the arms: "
    return {
        "question": question(endpoints, arms, settings, run),
        "cohort": str(run.cohort),
        "cutoff": data_cutoff(run),
        "comparison": comparison,
        "exposed": comparison.split(" vs ")[0],
        "endpoints": [
            {
                "label": label,
                "sentences": [
                    f"{pooled}{sentence}"
                    for sentence in (
                        followup_sentence(rows_of(tables["followup"], endpoint=endpoint)),
                        median_sentence(rows_of(tables["km_summary"], endpoint=endpoint)),
                        rmst_sentence(rows_of(tables["rmst"], endpoint=endpoint)),
                    )
                    if sentence
                ],
                "findings": key_findings(rows_of(tables["cox"], endpoint=endpoint)),
                "plain": plain_words(
                    endpoint,
                    primary_estimate(found, endpoint),
                    CONTRASTS[settings.primary.contrast],
                ),
            }
            for endpoint, label in endpoints.items()
        ],
    }


def followup_section(endpoints: dict[str, str], tables: Tables, run: RunRecord) -> dict[str, Any]:
    """The data cut-off and the median follow-up tables of every endpoint."""
    return {
        "cutoff": data_cutoff(run),
        "tables": [
            followup_table(endpoint, label, tables) for endpoint, label in endpoints.items()
        ],
    }


def flow_section(flow: pd.DataFrame) -> dict[str, Any]:
    """The patient flow: rows read, each exclusion with its reason, patients analysed."""
    flow = flow.sort_values("step")
    steps = [
        {
            "step": format_count(row["step"]),
            "reason": str(row["reason"]),
            "n_before": format_patients(row["n_before"]),
            "n_excluded": format_patients(row["n_excluded"]),
            "n_after": format_patients(row["n_after"]),
        }
        for _, row in flow.iterrows()
    ]
    return {
        "n_read": format_patients(flow["n_before"].iloc[0]),
        "n_analysed": format_patients(flow["n_after"].iloc[-1]),
        "steps": steps,
        "table": table(
            "Exclusion steps",
            list(FLOW_HEADINGS.values()),
            [[step[key] for key in FLOW_HEADINGS] for step in steps],
            2,
        ),
    }
