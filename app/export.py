"""Figures and tables ready for a paper: PNG / SVG / PDF in a paper style, data as CSV, tables as LaTeX.

Used by the app's download buttons and by notebooks alike (no Streamlit here):

    from app import export, figures
    fig = figures.overlap_figure(...)
    open("overlap.pdf", "wb").write(export.figure_bytes(fig, "pdf", layout="one-column"))
    open("table.tex", "w").write(export.latex_table(df, caption="...", label="tab:rec"))

Static images go through kaleido, which drives a Chrome/Chromium browser (install the system one:
`apt-get install chromium fonts-liberation`, or point `BROWSER_PATH` at any Chrome). One browser serves
every export of a process: the first export starts kaleido's sync server, later ones reuse it (about 0.2 s
a figure instead of 2 s for a browser start each time, ../shared/stack-notes.md).

Paper style: white background, no gridlines, serif font, and sizes that read at print size. A one-column
figure is 3.5 in wide, a two-column one 7 in. Pixels are CSS pixels (96 per inch), which is also how
Chromium sizes the PDF, so a one-column PDF is 3.5 in wide. Text is 9 pt (12 px). PNGs use scale 3
(288 dpi).
"""
from __future__ import annotations

import html
import math
import re
import threading
import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

FORMATS = ("png", "svg", "pdf")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "csv": "text/csv",
        "tex": "application/x-tex"}
LAYOUTS = {"one-column": 3.5, "two-column": 7.0}       # width in inches
PX_PER_INCH = 96
FONT = "Times New Roman, Liberation Serif, DejaVu Serif, serif"
FONT_PX = 12                                            # 9 pt
PNG_SCALE = 3

_server_lock = threading.Lock()     # kaleido's sync server answers one request at a time, in order


class ExportError(RuntimeError):
    """A static export failed (no browser, or the browser failed); the message says how to fix it."""


def _wrap(line: str, chars: int) -> str:
    """`line` broken with <br> into pieces of at most `chars` characters where it can be: after a space or a
    "/" (a path). A piece without such a break stays whole."""
    pieces, cur = [], ""
    for tok in re.findall(r"[^ /]+/?|[ ]+", line):
        if cur and len(cur) + len(tok.rstrip()) > chars:
            pieces.append(cur.rstrip())
            cur = tok.lstrip()
        else:
            cur += tok
    return "<br>".join(pieces + [cur.rstrip()])


# trace types plotly leaves out of the legend unless told otherwise
_NO_LEGEND_BY_DEFAULT = {"heatmap", "histogram2d", "contour", "histogram2dcontour"}


def _legend_rows(fig: go.Figure, width: int) -> int:
    """Rows a horizontal legend takes at `width` px: 0 when the figure hides its legend or has fewer than two
    entries. Plotly lays the entries out in columns as wide as the widest (symbol about 40 px, text about
    0.6 em a character)."""
    if fig.layout.showlegend is False:
        return 0
    names = [str(t.name or "") for t in fig.data if t.showlegend is True
             or (t.showlegend is None and t.type not in _NO_LEGEND_BY_DEFAULT)]
    if len(names) < 2:
        return 0
    entry = 45 + 0.6 * (FONT_PX - 1) * max(len(n) for n in names)
    columns = max(1, int((width - 60) // entry))
    return -(-len(names) // columns)


def paper_figure(fig: go.Figure, layout: str = "one-column", aspect: float = 0.7, keep_title: bool = False) -> go.Figure:
    """A copy of `fig` in the paper style at the size of `layout` ("one-column" | "two-column").

    `aspect`: height / width. A paper figure carries its title in the caption, so the title is dropped
    unless `keep_title`. Raises ValueError for an unknown layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    width = round(LAYOUTS[layout] * PX_PER_INCH)
    out = go.Figure(fig)
    xaxes = [out.layout[k] for k in out.layout if k.startswith("xaxis")]
    panels = len({tuple(a.domain) for a in xaxes if a.domain is not None}) or 1
    # Subplot titles wrap to their panel's width (about 0.55 em a character); at one column two panels'
    # titles such as a checkpoint path ran into each other (seen in the exported overlap PDF).
    chars = max(8, int(width / panels / (0.55 * FONT_PX)))
    for a in out.layout.annotations:
        a.update(text="<br>".join(_wrap(line, chars) for line in str(a.text).split("<br>")))
    # the top margin stacks, from the top: the legend (horizontal rows), the title, subplot titles. A legend
    # that wraps adds its extra rows to the height, so the plot keeps its size (at one column the five
    # entries of the training curves took three rows and squeezed the plot to half the figure).
    rows = _legend_rows(out, width)
    title_lines = max((str(a.text).count("<br>") + 1 for a in out.layout.annotations), default=0)
    top = 8 + 18 * rows + (4 if rows else 0) + (20 if keep_title and fig.layout.title.text else 0) + 16 * title_lines
    out.update_layout(template="simple_white", width=width, height=round(width * aspect) + 18 * max(0, rows - 1),
                      font=dict(family=FONT, size=FONT_PX, color="black"),
                      margin=dict(l=48, r=12, t=top, b=40), paper_bgcolor="white", plot_bgcolor="white",
                      legend=dict(font=dict(size=FONT_PX - 1), orientation="h", yref="container", y=1,
                                  yanchor="top", x=0.5, xanchor="center"))
    if not keep_title:
        out.update_layout(title=None)
    out.update_annotations(font=dict(family=FONT, size=FONT_PX))      # subplot titles
    # simple_white outlines histogram bars in white: at print size narrow bars were all outline (the i = j
    # histogram of the overlap PDF all but vanished at one column)
    out.update_traces(marker_line_width=0, selector=dict(type="histogram"))
    # markers sized for the screen (e.g. the validation diamonds of the training curves) hid the lines under
    # them at print size
    for t in out.data:
        if t.type in ("scatter", "scattergl") and isinstance(t.marker.size, (int, float)) and t.marker.size > 6:
            t.marker.size = 6
    out.update_xaxes(showgrid=False, ticks="outside", title_font=dict(size=FONT_PX))
    out.update_yaxes(showgrid=False, ticks="outside", title_font=dict(size=FONT_PX))
    # At print size a tick label per category or per unit overlaps and gets rotated: let plotly choose
    # round ticks, about one per 0.35 in of width (axes with explicit tick values keep them).
    # Side-by-side panels share the width, so each gets its share of the ticks.
    max_ticks = max(3, round(LAYOUTS[layout] / 0.35 / panels))
    for axis in xaxes:
        if axis.type == "category":
            axis.update(tickangle=0)
        elif axis.tickmode != "array":
            axis.update(dtick=None, tick0=None, nticks=max_ticks, tickangle=0)
    # Side-by-side panels with one x title each: at one column (about 1.6 in a panel) the repeated titles run
    # into each other, so only the first panel keeps it.
    titled = [out.layout[k] for k in sorted((k for k in out.layout if k.startswith("xaxis")),
                                            key=lambda k: int(k[5:] or 1)) if out.layout[k].title.text]
    if layout == "one-column" and panels > 1 and len(titled) > 1 and len({a.title.text for a in titled}) == 1:
        for axis in titled[1:]:
            axis.update(title_text=None)
    # A log axis gets one label a decade where its data span two decades or more (1-2-5 labels crowd there);
    # under that it keeps the figure's own ticks (once a decade left a converged sMIM's training curves, 20 to
    # 600 nats, a single label at one column)
    for key in [k for k in out.layout if k.startswith("yaxis")]:
        if out.layout[key].type == "log" and _decades_spanned(out, key) >= 2:
            out.layout[key].update(tickmode="linear", tick0=0, dtick=1, tickvals=None, ticktext=None)
    # WebGL scatters render as bitmaps in static export: redraw them as SVG scatters (a trace's type is
    # read-only, so each is rebuilt from its properties)
    if any(t.type == "scattergl" for t in out.data):
        traces = [go.Scatter({k: v for k, v in t.to_plotly_json().items() if k != "type"})
                  if t.type == "scattergl" else t for t in out.data]
        out = go.Figure(data=traces, layout=out.layout)
    return out


def _decades_spanned(fig: go.Figure, axis_key: str) -> float:
    """log10(max / min) of the positive y values plotted on the y axis `axis_key` ("yaxis", "yaxis2", ...);
    infinite when it has none."""
    ref = "y" + axis_key[len("yaxis"):]
    ys = [float(v) for t in fig.data if (getattr(t, "yaxis", None) or "y") == ref
          and getattr(t, "y", None) is not None for v in t.y if v is not None and v > 0]  # y may be an array
    return math.log10(max(ys) / min(ys)) if ys else math.inf


def start_browser() -> None:
    """Start kaleido's browser for this process (idempotent; it is closed at exit). Raises ExportError."""
    import kaleido
    try:
        kaleido.start_sync_server(silence_warnings=True)
    except Exception as e:       # kaleido raises its own types for a missing browser
        raise ExportError(_advice(e)) from e


def _advice(e: Exception) -> str:
    return (f"static export needs Chrome or Chromium ({e}). Install it with `apt-get install chromium "
            f"fonts-liberation` (Debian/Ubuntu) or `kaleido_get_chrome`, or set BROWSER_PATH to a Chrome binary.")


def figure_bytes(fig: go.Figure, fmt: str, layout: str = "one-column", aspect: float = 0.7,
                 keep_title: bool = False) -> bytes:
    """`fig` in the paper style, rendered as `fmt` ("png" | "svg" | "pdf"). Raises ValueError for an unknown
    format or layout, ExportError when the browser cannot render."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    styled = paper_figure(fig, layout, aspect, keep_title)
    with _server_lock, warnings.catch_warnings():
        # plotly passes options the running server ignores, and says so on every call
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        start_browser()
        try:
            out = styled.to_image(format=fmt, width=styled.layout.width, height=styled.layout.height,
                                  scale=PNG_SCALE if fmt == "png" else 1)
        except Exception as e:
            raise ExportError(_advice(e)) from e
    return _with_dpi(out) if fmt == "png" else out


def _with_dpi(png: bytes) -> bytes:
    """The PNG with its resolution recorded (pHYs chunk, PX_PER_INCH x PNG_SCALE = 288 dpi), so a word
    processor or LaTeX places it at its intended width."""
    import io
    from PIL import Image
    buf = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buf, format="PNG", dpi=(PX_PER_INCH * PNG_SCALE,) * 2)
    return buf.getvalue()


def figure_data(fig: go.Figure) -> pd.DataFrame:
    """The numbers behind a figure, long format: one row per point of each trace (trace, x, y, plus the
    error bar as y_error (e.g. sigma around mu), text or marker colour where present, and the subplot title as
    "panel" for figures of several panels). For a histogram the rows are the raw values; for an image with
    x and y centres (a dense map's `_density_image`), one row per non-empty cell with its "value". What a
    reader needs to redraw the figure elsewhere."""
    rows, parts = [], []                    # point rows; finished frames, in trace order
    titles = [a.text for a in fig.layout.annotations]      # subplot titles, in subplot order
    for i, tr in enumerate(fig.data):
        # texts are escaped for plotly (app.figures.plotly_text): the CSV holds them as they were
        name = html.unescape(tr.name) if tr.name is not None else f"trace {i}"
        if tr.type == "heatmap" and tr.x is not None and tr.y is not None:    # an image: its non-empty cells
            z = np.asarray(tr.z, dtype=float)
            r, c = np.nonzero(np.isfinite(z))
            xs, ys = np.asarray(tr.x)[c], np.asarray(tr.y)[r]
            parts += [pd.DataFrame(rows), pd.DataFrame({"trace": name, "x": xs, "y": ys, "value": z[r, c]})]
            rows = []                   # up to 400,000 cells: one frame, not a dict a cell
            continue
        axis = getattr(tr, "xaxis", None) or "x"
        k = int(axis[1:] or 1) - 1
        panel = titles[k] if len(titles) > 1 and k < len(titles) else None
        xs = list(tr.x) if getattr(tr, "x", None) is not None else []
        ys = list(tr.y) if getattr(tr, "y", None) is not None else []
        n = max(len(xs), len(ys))
        text = getattr(tr, "text", None)
        text = [html.unescape(t) if isinstance(t, str) else t for t in text] if isinstance(text, (list, tuple)) else None
        color = getattr(getattr(tr, "marker", None), "color", None)
        color = list(color) if isinstance(color, (list, tuple)) and len(color) == n else None
        err = getattr(getattr(tr, "error_y", None), "array", None)          # e.g. sigma around mu
        err = list(err) if err is not None and len(err) == n else None
        for j in range(n):
            row = {"trace": name, "x": xs[j] if j < len(xs) else None, "y": ys[j] if j < len(ys) else None}
            if panel is not None:
                row = {"panel": panel, **row}
            if err is not None:
                row["y_error"] = err[j]
            if text is not None and j < len(text):
                row["text"] = text[j]
            if color is not None:
                row["color"] = color[j]
            rows.append(row)
    parts.append(pd.DataFrame(rows))
    return pd.concat([p for p in parts if len(p)] or [pd.DataFrame()], ignore_index=True)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of a table (the index is written when it is named)."""
    return df.to_csv(index=df.index.name is not None).encode("utf-8")


LONG_TEXT = 30      # characters: a column with longer cells wraps in a p{...} column instead of overflowing


def latex_table(df: pd.DataFrame, caption: str = "", label: str = "") -> str:
    """A `table` environment with a booktabs `tabular` of `df`, for papers. Needs `\\usepackage{booktabs}`.

    Every cell, header and index entry is escaped for LaTeX text mode (`<unk>` included: `<` and `>` would
    print as ¡ and ¿). Columns holding text longer than LONG_TEXT characters become `p{...}` columns that
    share 70% of the line width and wrap, so long sentences stay on the page; numbers align right.
    """
    index = df.index.name is not None
    out = df.copy()
    out.columns = [_escape(str(c)) for c in out.columns]
    if index:
        out.index = [_escape(str(i)) for i in out.index]
        out.index.name = _escape(str(df.index.name))
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(lambda v: _escape(str(v)))
    long = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])
            and out[c].map(len).max() > LONG_TEXT] if len(out) else []
    fmt = "".join(f"p{{{0.7 / len(long):.2f}\\linewidth}}" if c in long else
                  ("r" if pd.api.types.is_numeric_dtype(out[c]) else "l") for c in out.columns)
    body = out.to_latex(index=index, escape=False, column_format=("l" if index else "") + fmt)
    lines = ["\\begin{table}[t]", "\\centering", body.rstrip()]
    if caption:
        lines.append(f"\\caption{{{_escape(caption)}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


# TeX's ligatures in text mode: "--" and "---" print as dashes, "``" "''" ",," as quotes, "!`" "?`" as ¡ ¿
_LIGATURE = re.compile(r"(?<=-)(?=-)|(?<=`)(?=`)|(?<=')(?=')|(?<=,)(?=,)|(?<=[!?])(?=`)")


def _escape(text: str) -> str:
    """`text` for LaTeX text mode, printed as it is: special characters escaped, ligatures broken by `{}`."""
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "<": r"\textless{}", ">": r"\textgreater{}"}
    return _LIGATURE.sub("{}", "".join(repl.get(c, c) for c in text))


# ------------------------------------------------------------------------------------------ corpus codes
def corpus_codes_table(sentences: list[str], mu, logvar) -> pd.DataFrame:
    """One row per sentence: the sentence, then mu_0..mu_{n-1} and sigma_0..sigma_{n-1} of q(z|x)."""
    mu, sigma = np.asarray(mu), np.exp(0.5 * np.asarray(logvar))
    data = {"sentence": list(sentences)}
    data.update({f"mu_{d}": mu[:, d] for d in range(mu.shape[1])})
    data.update({f"sigma_{d}": sigma[:, d] for d in range(mu.shape[1])})
    return pd.DataFrame(data)


def corpus_codes_npz(sentences: list[str], mu, logvar) -> bytes:
    """NumPy .npz with arrays mu (N, n), sigma (N, n) float32 and sentences (N,) unicode; loads with
    `np.load(f)` (no pickle needed)."""
    import io
    buf = io.BytesIO()
    np.savez_compressed(buf, mu=np.asarray(mu, dtype=np.float32),
                        sigma=np.exp(0.5 * np.asarray(logvar, dtype=np.float64)).astype(np.float32),
                        sentences=np.array(list(sentences), dtype=str))
    return buf.getvalue()


def projector_tsv(sentences: list[str], mu) -> tuple[bytes, bytes]:
    """TensorBoard Embedding Projector files: vectors.tsv (one posterior mean a line, tab-separated) and
    metadata.tsv (the sentences, one a line; a single column has no header). Tabs and line breaks inside a
    sentence become spaces, so the lines stay aligned."""
    vec = "\n".join("\t".join(f"{v:.6g}" for v in row) for row in np.asarray(mu)) + "\n"
    meta = "\n".join(" ".join(s.split()) or "(empty)" for s in sentences) + "\n"
    return vec.encode("utf-8"), meta.encode("utf-8")
