"""Shared pieces of the report: labels, number formats, Cox term parsing, table specs,
and the figure sink that inlines each figure as SVG and also writes it as PNG and PDF.

Every report_* module turns result tables into plain, already formatted strings with these
helpers; the Jinja2 template only lays them out.
"""

from __future__ import annotations

import base64
import csv
import io
import pickle
import re
import traceback
from collections.abc import Callable
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from matplotlib.figure import Figure

from mgsurv.disclosure import format_patients
from mgsurv.figures import FILE_FORMATS, figure_svg, format_p, p_phrase, write_figure_files

Table = dict[str, Any]
Tables = dict[str, pd.DataFrame]

ENDPOINT_LABELS = {"pfs": "Progression-free survival", "os": "Overall survival"}
EVENT_DEFINITIONS = {
    "pfs": "disease progression or death from any cause, whichever came first",
    "os": "death from any cause",
}
CLINICAL_GROUPING = "mg_clinical"
CUTPOINT_GROUPING = "mg_cutpoint"
EXPLORATORY = "exploratory, data-driven cut-point"
GROUPING_LABELS = {
    CLINICAL_GROUPING: "clinical serum Mg group",
    "mg_quartile": "serum Mg quartile",
    CUTPOINT_GROUPING: f"serum Mg at an {EXPLORATORY}",
}
VARIABLE_LABELS = {
    "mg_clinical": "Serum Mg group",
    "mg_quartile": "Serum Mg quartile",
    CUTPOINT_GROUPING: f"Serum Mg group ({EXPLORATORY})",
    "mg": "Serum Mg",
}
UNIT_LABELS = {"mmol_l": "mmol/L"}
TEST_LABELS = {"logrank": "Log-rank"}
ADJUST_LABELS = {"holm": "Holm", "BH": "Benjamini-Hochberg"}
KEY_TERM = "mg_clinical[low vs normal]"
# Terms of serum Mg itself start with this; the other terms of a model are its covariates.
MG_TERM_PREFIX = "mg_"
ARM_MODEL_PREFIX = "arm="
PH_MODEL = "multivariable"
PH_GLOBAL = "GLOBAL"
PH_ALPHA = 0.05
PH_FLAG = "possible non-proportional hazards"
FOLLOWUP_ALL = "all"
EXPLORATORY_MARK = "†"
# mg_groups definitions are plain text ("<= 0.69"); shown with the mathematical signs.
INEQUALITIES = {"<=": "≤", ">=": "≥"}
CATEGORICAL_TERM = re.compile(r"^(?P<variable>[^\[]+)\[(?P<comparison>.+)\]$")
WITHIN_ARM = re.compile(r"^(?P<term>.+) within arm=(?P<arm>.+)$")
INTERACTION_TERM = re.compile(r"^(?P<left>[^:]+\])\s*:\s*(?P<right>.+\])$")
PER_UNIT_TERM = re.compile(r"^(?P<variable>.+)_per_(?P<step>[0-9.]+)_(?P<unit>.+)$")
# rmst.tsv rows after the groups: "g - ref" (difference), "g / ref" (ratio), "RMTL g / ref";
# measure names keep their words together (no-break space) in the narrow Measure column.
DIFFERENCE = re.compile(r"^(?P<group>.+) - (?P<reference>.+)$")
RMST_CONTRASTS = (
    (re.compile(r"^RMTL (?P<contrast>.+ / .+)$"), "RMTL\N{NO-BREAK SPACE}ratio"),
    (re.compile(r"^(?P<contrast>.+ / .+)$"), "RMST\N{NO-BREAK SPACE}ratio"),
    (re.compile(r"^(?P<contrast>.+ - .+)$"), "Difference"),
)
FLOW_COLUMNS = {
    "step": "Step",
    "reason": "Reason",
    "n_before": "Before",
    "n_excluded": "Excluded",
    "n_after": "After",
}
COX_COLUMNS = ["Variable", "Comparison", "HR", "95% CI", "p", "n", "Events"]


def is_missing(value: Any) -> bool:
    """True for None and NaN, the contract's markers of 'not estimable'."""
    return value is None or bool(pd.isna(value))


def format_number(value: float, decimals: int, missing: str = "NA") -> str:
    """A number with a fixed count of decimals; `missing` ('NA') when not estimable."""
    return missing if is_missing(value) else f"{value:.{decimals}f}"


def format_hr(value: float) -> str:
    """A hazard ratio with 2 decimals; 'NA' when not estimable."""
    return format_number(value, 2)


def format_median(value: float) -> str:
    """A median time in months with 1 decimal; 'NR' (not reached) when missing."""
    return "NR" if is_missing(value) else f"{value:.1f}"


def format_estimable(value: float) -> str:
    """A time in months with 1 decimal; 'NE' (not estimable) when missing."""
    return format_number(value, 1, missing="NE")


def format_percent(value: float) -> str:
    """A probability as a percentage with 1 decimal; 'NE' (not estimable) when missing."""
    return "NE" if is_missing(value) else f"{100 * value:.1f}"


def format_two(value: float) -> str:
    """An estimate with 2 decimals (RMST and its contrasts); 'NA' when missing."""
    return format_number(value, 2)


def format_ci(lower: float, upper: float, formatter: Callable[[float], str] = format_hr) -> str:
    """A confidence interval as '(lower–upper)' with the estimate's own formatter; with a
    negative bound as '(lower to upper)', so that minus signs and the dash stay apart."""
    negative = any(not is_missing(bound) and bound < 0 for bound in (lower, upper))
    return f"({formatter(lower)}{' to ' if negative else '–'}{formatter(upper)})"


def format_count(value: Any) -> str:
    """A count of something other than patients (degrees of freedom, a step number) as an
    integer; 'NA' when missing. Counts of patients: :func:`format_patients`."""
    return "NA" if is_missing(value) else str(int(value))


def slug(text: str) -> str:
    """A string safe to use inside an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def endpoint_labels(meta: dict) -> dict[str, str]:
    """Endpoint code -> label, from the metadata when it provides one."""
    return {**ENDPOINT_LABELS, **meta.get("endpoints_label", {})}


def endpoint_order(labels: dict[str, str], *tables: pd.DataFrame) -> list[str]:
    """Endpoints present in any table, in label order (PFS before OS), then the rest."""
    present = list(dict.fromkeys(e for t in tables for e in t["endpoint"].astype(str)))
    return [e for e in labels if e in present] + [e for e in present if e not in labels]


def rows_of(table: pd.DataFrame, **equal: str) -> pd.DataFrame:
    """Rows of a table whose columns equal the given values (compared as text; a
    categorical column by its categories, without a text copy of every row)."""
    mask = pd.Series(True, index=table.index)
    for column, value in equal.items():
        values = table[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(str)
        mask &= values == value
    return table[mask]


def grouping_label(grouping: str, groups: pd.DataFrame) -> str:
    """Readable grouping name; one with a 'low' group states that group's boundary from
    mg_groups, e.g. 'clinical serum Mg group (low: < 0.7 mmol/L)'."""
    label = GROUPING_LABELS.get(grouping, grouping)
    low = rows_of(groups, grouping=grouping, group="low")["definition"]
    return f"{label} (low: {definition_text(low.iloc[0])} mmol/L)" if len(low) else label


def definition_text(definition: str) -> str:
    """An mg_groups definition with ≤ and ≥ for '<=' and '>='."""
    for plain, sign in INEQUALITIES.items():
        definition = definition.replace(plain, sign)
    return definition


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence ('Overall survival' -> 'overall survival')."""
    return label[:1].lower() + label[1:]


def blank_repeats(rows: list[list[str]]) -> list[list[str]]:
    """Rows whose first cell is left empty where it repeats the row above, so that each
    grouping's (long) name is read once, at the head of its block."""
    return [
        ["" if i and row[0] == rows[i - 1][0] else row[0], *row[1:]] for i, row in enumerate(rows)
    ]


def is_exploratory(name: str) -> bool:
    """True for the data-driven cut-point grouping and its Cox term."""
    return name == CUTPOINT_GROUPING or name.startswith(f"{CUTPOINT_GROUPING}[")


def cutpoint_caveat(tables: Tables, meta: dict) -> str:
    """Why p-values of the cut-point grouping are too small, and where the corrected one is."""
    text = (
        f"{EXPLORATORY.capitalize()}: p-values of this grouping are not corrected for the"
        " search over cut-points and are too small"
    )
    if len(tables["cutpoint"]):
        row = tables["cutpoint"].iloc[0]
        endpoint = endpoint_labels(meta).get(str(row["endpoint"]), str(row["endpoint"]))
        text += (
            f"; the corrected p (Lausen-Schumacher) for {in_sentence(endpoint)}, the endpoint"
            " searched,"
            f" is {format_p(row['p_lau92'])}"
        )
    return f"{text} (see the data-driven cut-point section)."


def p_cell(p: float, name: str) -> str:
    """A p-value cell, marked when it is an uncorrected p of the exploratory cut-point."""
    marked = is_exploratory(name) and not is_missing(p)
    return f"{format_p(p)} {EXPLORATORY_MARK}" if marked else format_p(p)


def exploratory_notes(names: pd.Series, caveat: str) -> list[str]:
    """The cut-point footnote, when any row of a table belongs to that grouping."""
    return [f"{EXPLORATORY_MARK} {caveat}"] if any(map(is_exploratory, names.astype(str))) else []


def term_parts(term: str) -> tuple[str, str]:
    """Split a Cox term into (variable label, comparison) for display.

    'sex[female vs male]' -> ('sex', 'female vs male');
    'a[x vs y]:b[u vs v]' -> ('a × b', 'x vs y × u vs v') (an interaction);
    '<term> within arm=<arm>' -> the term's parts, comparison suffixed with the arm;
    'mg_per_0.1_mmol_l' -> ('Serum Mg', 'per 0.1 mmol/L higher'); other numeric terms
    ('age') -> ('age', 'per unit higher').
    """
    if match := WITHIN_ARM.match(term):
        variable, comparison = term_parts(match["term"])
        return variable, f"{comparison}, in the {match['arm']} arm"
    if match := INTERACTION_TERM.match(term):
        (left, left_comparison), (right, right_comparison) = map(
            term_parts, (match["left"], match["right"])
        )
        return f"{left} × {right}", f"{left_comparison} × {right_comparison}"
    if match := CATEGORICAL_TERM.match(term):
        variable = match["variable"]
        return VARIABLE_LABELS.get(variable, variable), match["comparison"]
    if match := PER_UNIT_TERM.match(term):
        unit = UNIT_LABELS.get(match["unit"], match["unit"])
        variable = VARIABLE_LABELS.get(match["variable"], match["variable"])
        return variable, f"per {match['step']} {unit} higher"
    return VARIABLE_LABELS.get(term, term), "per unit higher"


def arm_models(cox: pd.DataFrame) -> list[str]:
    """The per-arm model names ('arm=<x>') in table order."""
    models = dict.fromkeys(cox["model"].astype(str))
    return [m for m in models if m.startswith(ARM_MODEL_PREFIX)]


def model_label(model: str) -> str:
    """'multivariable' as is; 'arm=<x>' as 'within the <x> arm'."""
    if model.startswith(ARM_MODEL_PREFIX):
        return f"within the {model.removeprefix(ARM_MODEL_PREFIX)} arm"
    return model


def hr_text(row: pd.Series) -> str:
    """'HR 1.87 (1.12–3.10), p = 0.0123' for one Cox row."""
    ci = format_ci(row["hr_lower"], row["hr_upper"])
    return f"HR {format_hr(row['hr'])} {ci}, {p_phrase(row['p'])}"


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


def table(
    caption: str,
    columns: list[str],
    rows: list[list[str]],
    text_columns: int,
    *,
    notes: list[str] | None = None,
    trailing_text: int = 0,
    row_classes: list[str] | None = None,
) -> Table:
    """A table spec for the template: the first `text_columns` and the last `trailing_text`
    columns are text, the others numeric (right-aligned); `notes` are printed under it;
    `row_classes` (one per row, "" for none) style rows, e.g. indented levels. The CSV
    download (csv, csv_name) is added by :func:`name_tables` once the page is assembled."""
    numeric = [text_columns <= i < len(columns) - trailing_text for i in range(len(columns))]
    return {
        "caption": caption,
        "columns": columns,
        "rows": rows,
        "numeric": numeric,
        "notes": notes or [],
        "row_classes": row_classes or [""] * len(rows),
        "csv": "",
        "csv_name": "",
    }


def adjusted_for(cox: pd.DataFrame, model: str = "multivariable") -> str:
    """The variables a Cox model adjusts serum Mg for, read from its terms (all but Mg's)."""
    terms = rows_of(cox, model=model)["term"].astype(str)
    variables = dict.fromkeys(term_parts(t)[0] for t in terms if not t.startswith(MG_TERM_PREFIX))
    return ", ".join(variables)


def adjust_label(meta: dict) -> str:
    """The name of the pairwise p adjustment method (e.g. 'Holm')."""
    return ADJUST_LABELS.get(meta["pairwise_adjust"], meta["pairwise_adjust"])


def knot_count(knots: str) -> int:
    """Number of knots in nonlinearity.tsv's comma-separated knots."""
    return len(str(knots).split(","))


def variable_label(name: str) -> str:
    """A model variable's label; a per-unit term with its unit ('Serum Mg, per 0.1 mmol/L')."""
    if PER_UNIT_TERM.match(name):
        variable, comparison = term_parts(name)
        return f"{variable}, {comparison.removesuffix(' higher')}"
    return VARIABLE_LABELS.get(name, name)


def ph_term_label(term: str) -> str:
    """A ph_test term for display; interactions as 'a × b', GLOBAL as the global test."""
    if term == PH_GLOBAL:
        return "Global test (all terms)"
    return " × ".join(variable_label(part) for part in term.split(":"))


def word_list(words: list[str]) -> str:
    """'a, b and c' ('a' for one word)."""
    return " and ".join(filter(None, [", ".join(words[:-1]), *words[-1:]]))


class Link(NamedTuple):
    """A table cell that links to a part of the page (href "#id")."""

    text: str
    href: str

    def __str__(self) -> str:
        return self.text


class Rich(NamedTuple):
    """A table cell of several parts: text and links."""

    parts: tuple[str | Link, ...]

    def __str__(self) -> str:
        return "".join(map(str, self.parts))


def cell_text(cell: Any) -> str:
    """What a table cell shows (a link's text)."""
    return str(cell)


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    """A table as CSV text (RFC 4180, CRLF line ends), exactly the cells shown."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([[cell_text(cell) for cell in row] for row in rows])
    return buffer.getvalue()


def csv_data_uri(text: str) -> str:
    """A data: URI carrying CSV text (UTF-8 with a byte-order mark, so that spreadsheet
    programs read the en dashes and signs right); data: URIs are not network requests."""
    payload = base64.b64encode(("\ufeff" + text).encode("utf-8")).decode("ascii")
    return f"data:text/csv;charset=utf-8;base64,{payload}"


def name_tables(context: Any, prefix: str = "report") -> None:
    """Give every table spec in the context a unique download name and its CSV data URI:
    '<id of the enclosing part>-<first words of its caption>', in page order."""
    seen: dict[str, int] = {}

    def visit(node: Any, where: str) -> None:
        if isinstance(node, dict) and "columns" in node and "rows" in node:
            known = set(where.split("-"))
            words = [w for w in re.findall(r"[a-z0-9]+", node["caption"].lower()) if w not in known]
            words = "-".join(words[:5])
            name = f"{where}-{words}" if words else where
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}-{seen[name]}"
            node["csv_name"] = f"{name}.csv"
            node["csv"] = csv_data_uri(csv_text(node["columns"], node["rows"]))
        elif isinstance(node, dict):
            here = str(node.get("id", where))
            for value in node.values():
                visit(value, here)
        elif isinstance(node, list | tuple) and not isinstance(node, Link):
            for item in node:
                visit(item, where)

    if isinstance(context, dict):
        for key, value in context.items():
            visit(value, key)
    else:
        visit(context, prefix)


class Figures:
    """Collects the report's figures: each is inlined as SVG (its ids prefixed with the
    figure's id) and, when a directory is given, also written there as <id>.png and
    <id>.pdf (see :func:`draw_figure`).

    Each figure is drawn in a fork of this process made when it is added (the figure goes
    to it pickled), up to ``workers`` at a time while this process builds the rest of the
    page; each figure's SVG is a :class:`PendingSvg` until the template renders it. A
    fresh fork per figure matters: matplotlib keeps state between drawings in a process,
    so a long-lived worker's output would depend on which figures it drew before (and
    which worker got which figure varies from run to run). With ``workers`` = 0 the forks
    run one at a time: the same bytes. Use it as a context manager: leaving the block
    waits for every figure and re-raises a drawing's error.
    """

    def __init__(self, directory: str | Path | None = None, workers: int = 0) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.ids: list[str] = []
        self._workers = max(workers, 1)
        self._pending: list[ForkedDrawing] = []

    def __enter__(self) -> Figures:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        for drawing in self._pending:
            if exc_type is None:  # else the page failed: its error is the one to see
                drawing.result()
            else:
                drawing.abandon()

    def add(self, figure_id: str, figure: Figure) -> dict[str, Any]:
        """The figure for the template: {id, svg, files (relative to the report)}."""
        figure_id = slug(figure_id)
        if figure_id in self.ids:
            raise ValueError(f"two figures share the id {figure_id}")
        self.ids.append(figure_id)
        running = [d for d in self._pending if not d.done]
        if len(running) >= self._workers:
            running[0].result()
        drawing = ForkedDrawing(pickle.dumps(figure), self.directory, figure_id)
        self._pending.append(drawing)
        files = (
            [f"{self.directory.name}/{figure_id}.{kind}" for kind in FILE_FORMATS]
            if self.directory is not None
            else []
        )
        return {"id": figure_id, "svg": PendingSvg(drawing), "files": files}


class ForkedDrawing:
    """:func:`draw_figure` of a pickled figure in a fork of this process; :meth:`result`
    waits for its SVG text (or raises its error)."""

    def __init__(self, figure: bytes, directory: Path | None, figure_id: str) -> None:
        context = get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_draw_and_send, args=(send, figure, directory, figure_id), daemon=True
        )
        self._process.start()
        send.close()
        self._figure_id = figure_id
        self._svg: str | None = None

    @property
    def done(self) -> bool:
        return self._svg is not None

    def result(self) -> str:
        if self._svg is None:
            try:
                ok, value = self._receive.recv()
            except EOFError:
                ok, value = False, f"the drawing process died (exit {self._process.exitcode})"
            self._process.join()
            self._receive.close()
            if not ok:
                raise RuntimeError(f"figure {self._figure_id} could not be drawn: {value}")
            self._svg = value
        return self._svg

    def abandon(self) -> None:
        """Stop the drawing (the page failed: its figures are not needed)."""
        if self._svg is None and self._process.is_alive():
            self._process.kill()
        self._process.join()


def _draw_and_send(send, figure: bytes, directory: Path | None, figure_id: str) -> None:
    try:
        send.send((True, _draw_pickled_figure(figure, directory, figure_id)))
    except Exception:  # noqa: BLE001 (sent to the parent, which raises it)
        send.send((False, traceback.format_exc()))
    finally:
        send.close()


class PendingSvg:
    """A figure's SVG text that a fork is still drawing: the template's ``| safe`` (via
    ``__html__``) or ``str()`` waits for it."""

    def __init__(self, drawing: ForkedDrawing) -> None:
        self._drawing = drawing

    def __str__(self) -> str:
        return self._drawing.result()

    def __html__(self) -> str:
        return str(self)


def draw_figure(figure: Figure, directory: Path | None, figure_id: str) -> str:
    """The figure's SVG text (ids prefixed with its id) and, with a directory, its PNG and
    PDF files there. The files keep the layout the SVG's drawing computed rather than
    computing it again (a third of drawing them)."""
    svg = figure_svg(figure, f"{figure_id}-")
    if directory is not None:
        figure.set_layout_engine("none")
        write_figure_files(figure, directory, figure_id)
    return svg


def _draw_pickled_figure(figure: bytes, directory: Path | None, figure_id: str) -> str:
    """:func:`draw_figure` of a pickled figure (in a fork: :class:`ForkedDrawing`)."""
    return draw_figure(pickle.loads(figure), directory, figure_id)
