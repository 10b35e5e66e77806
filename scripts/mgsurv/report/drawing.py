"""The report's figure sink: each figure inlined as SVG and also written as PNG and PDF,
drawn in forked processes while the page is built (:class:`Figures`)."""

from __future__ import annotations

import gc
import traceback
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

# The backends that draw each figure's SVG, PNG and PDF, imported before any fork: a fork
# would otherwise import them itself, about 0.1 s for each of the report's figures.
import matplotlib.backends.backend_agg  # noqa: F401
import matplotlib.backends.backend_pdf  # noqa: F401
import matplotlib.backends.backend_svg  # noqa: F401
from matplotlib.figure import Figure

from mgsurv.report.figures import FILE_FORMATS, figure_svg, labelled_by, write_figure_files
from mgsurv.report.tables import slug


class Figures:
    """Collects the report's figures: each is inlined as SVG (its ids prefixed with the
    figure's id) and, when a directory is given, also written there as <id>.png and
    <id>.pdf (see :func:`draw_figure`).

    Each figure is drawn in a fork of this process made when it is added (the fork has its
    own copy of the figure, no pickling needed), up to ``workers`` at a time while this
    process builds the rest of the page; each figure's SVG is a :class:`PendingSvg` until
    the template renders it. A fresh fork per figure matters: matplotlib keeps state
    between drawings in a process, so a long-lived worker's output would depend on which
    figures it drew before (and which worker got which figure varies from run to run).
    With ``workers`` = 0 the forks run one at a time: the same bytes. Use it as a context
    manager: leaving the block waits for every figure and re-raises a drawing's error.
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
        """The figure for the template: {id, number (Figure 1, 2, ... in the order added,
        which is the page's), svg, files (relative to the report)}."""
        figure_id = slug(figure_id)
        if figure_id in self.ids:
            raise ValueError(f"two figures share the id {figure_id}")
        self.ids.append(figure_id)
        running = [d for d in self._pending if not d.done]
        if len(running) >= self._workers:
            # the first of them to finish frees a worker (not the oldest: a core would idle)
            first = wait([d.connection for d in running])[0]
            next(d for d in running if d.connection is first).result()
        drawing = ForkedDrawing(figure, self.directory, figure_id)
        self._pending.append(drawing)
        files = (
            [f"{self.directory.name}/{figure_id}.{kind}" for kind in FILE_FORMATS]
            if self.directory is not None
            else []
        )
        return {
            "id": figure_id,
            "number": len(self.ids),
            "caption_id": caption_id(figure_id),
            "svg": PendingSvg(drawing),
            "files": files,
        }


class ForkedDrawing:
    """:func:`draw_figure` of a figure in a fork of this process; :meth:`result` waits for
    its SVG text (or raises its error)."""

    def __init__(self, figure: Figure, directory: Path | None, figure_id: str) -> None:
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

    @property
    def connection(self) -> Connection:
        """The pipe the fork sends its result on (readable once it has finished)."""
        return self._receive

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


def _draw_and_send(send, figure: Figure, directory: Path | None, figure_id: str) -> None:
    # The fork lives for one figure: no garbage collection, whose passes over every object
    # the report job holds would copy their memory pages into the fork (0.9 s of CPU over the
    # default report's 20 figures).
    gc.disable()
    try:
        send.send((True, draw_figure(figure, directory, figure_id)))
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
    """The figure's SVG text (ids prefixed with its id, named by its caption, the element
    :func:`caption_id` of the page) and, with a directory, its PNG and PDF files there. The
    files keep the layout the SVG's drawing computed rather than computing it again (a third
    of drawing them)."""
    svg = labelled_by(figure_svg(figure, f"{figure_id}-"), caption_id(figure_id))
    if directory is not None:
        figure.set_layout_engine("none")
        write_figure_files(figure, directory, figure_id)
    return svg


def caption_id(figure_id: str) -> str:
    """The id of a figure's caption on the page."""
    return f"caption-{figure_id}"
