"""The reproduction's claims and notes are data (bench/claims.toml, bench/notes.md); this module reads them
and evaluates them against the run records of docs/results.json.

A claim binds names to runs and states, as expressions over their test evaluations, when it holds:

    [[claim]]
    text = "LSTM-VAE-AVG ({a}) has a higher KL and a lower NLL than LSTM-VAE ({b}; Kruengkrai 2019)"
    runs = {a = "k19-avg5", b = "k19-vae"}
    holds = "a.kl > b.kl and a.nll < b.nll"
    numbers = "KL {a.kl:.2f} vs {b.kl:.2f}; NLL {a.nll:.2f} vs {b.nll:.2f}"

A binding is a run name, `name@i` for its i-th evaluation, a list (the first of them that is evaluated) or
{min = [names], by = "metric"} (the one with the lowest value). `cases` instead of `runs` gives several
bindings to one claim. A claim whose runs are not all evaluated is left out. Expressions are Python syntax
restricted to comparisons, and / or / not, + - * /, x if c else y, numbers and strings, `run.metric`,
`run.paper.metric` (the paper's figure), `run.model.field` (its config) and the functions abs, min, max,
first (the first argument that is not None). Templates put expressions in braces, with an optional format
after a colon: `{a.kl:.2f}`; `{a}` is the run's name.

A note (bench/notes.md, a `## run` section each) is markdown whose figures from the results are expressions
in braces, filled from the records when the report is written (`render_note`): `{kl:.2f}` is the run's own
KL, `{paper.nll}` its paper's figure, `{nll - paper.nll:+.2f}` their difference and `{@other-run.kl:.2f}`
another run's. Figures that are not in the records (training curves, timings, other measurements) are plain
text.
"""
from __future__ import annotations

import ast
import operator
import re
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLAIMS = HERE / "claims.toml"
NOTES = HERE / "notes.md"


class Record:
    """A run as expressions see it: attributes are its evaluation's metrics; `.paper` and `.model` are the
    paper's figures and its model config; formatting it gives its name."""

    def __init__(self, name: str, record: dict, index: int = 0):
        self.name, self._eval = name, record["evals"][index]
        self.paper, self.model = Fields(record.get("paper", {}), f"{name}.paper"), Fields(record.get("model", {}),
                                                                                         f"{name}.model")

    def __getattr__(self, key):
        if key.startswith("_") or key not in self._eval:
            raise AttributeError(f"run {self.name} has no evaluated {key!r}")
        return self._eval[key]

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)


class Fields:
    """A dict read by attribute, naming itself in the error for a missing key."""

    def __init__(self, d: dict, what: str):
        self._d, self._what = d, what

    def __getattr__(self, key):
        if key.startswith("_") or key not in self._d:
            raise AttributeError(f"{self._what} has no {key!r}")
        return self._d[key]


_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
        ast.NotEq: operator.ne, ast.Is: operator.is_, ast.IsNot: operator.is_not}
_FUNCS = {"abs": abs, "min": min, "max": max, "first": lambda *xs: next((x for x in xs if x is not None), None)}


def evaluate(expr: str, names: dict):
    """The value of `expr` (the restricted syntax above) with `names` bound. Raises ValueError for syntax
    outside it and AttributeError for a metric a run does not have."""
    return _eval(ast.parse(expr.strip(), mode="eval").body, names, expr)


def _eval(node, names, src):
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise ValueError(f"{src!r}: unknown name {node.id!r}")
    if isinstance(node, ast.Attribute):
        obj = _eval(node.value, names, src)
        if not isinstance(obj, (Record, Fields)) or node.attr.startswith("_"):
            raise ValueError(f"{src!r}: .{node.attr} is read only from a run, its paper or its model")
        return getattr(obj, node.attr)
    if isinstance(node, ast.BoolOp):
        vals = (_eval(v, names, src) for v in node.values)
        return all(vals) if isinstance(node.op, ast.And) else any(vals)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        v = _eval(node.operand, names, src)
        return (not v) if isinstance(node.op, ast.Not) else -v
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        return _BIN[type(node.op)](_eval(node.left, names, src), _eval(node.right, names, src))
    if isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
        left = _eval(node.left, names, src)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, names, src)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names, src) else node.orelse, names, src)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _FUNCS[node.func.id](*(_eval(a, names, src) for a in node.args))
    raise ValueError(f"{src!r}: {ast.dump(node)[:60]} is outside the claims' expression syntax")


_FIELD = re.compile(r"\{([^{}]+?)(?::([^{}:]*))?\}")


def fill(template: str, names: dict) -> str:
    """`template` with each `{expr}` / `{expr:fmt}` replaced by the formatted value of expr."""
    return _FIELD.sub(lambda m: format(evaluate(m.group(1), names), m.group(2) or ""), template)


def _bind(spec, R: dict):
    """A run binding (see the module docstring) -> Record, or None when its run is not evaluated."""
    if isinstance(spec, list):
        return next((b for s in spec if (b := _bind(s, R)) is not None), None)
    if isinstance(spec, dict):
        cands = [b for s in spec["min"] if (b := _bind(s, R)) is not None]
        return min(cands, key=lambda b: getattr(b, spec["by"]), default=None)
    name, _, idx = spec.partition("@")
    i = int(idx or 0)
    if name not in R or len(R[name]["evals"]) <= i:
        return None
    return Record(name, R[name], i)


def load_claims(path: Path = CLAIMS) -> list[dict]:
    """The claims of `path`, each {"text", "holds", "numbers", "cases": [bindings], "when", "each",
    "numbers_end"}: `when` (optional) leaves out a case for which it is false or names a missing metric;
    `each = true` claims `holds` of every evaluated run `r` for which `when` is true, one verdict for all, with
    the runs' `numbers` joined by "; " and `numbers_end` after them."""
    out = []
    for c in tomllib.loads(path.read_text())["claim"]:
        out.append({"text": c["text"], "holds": c["holds"], "numbers": c["numbers"], "when": c.get("when"),
                    "each": c.get("each", False), "numbers_end": c.get("numbers_end", ""),
                    "cases": c.get("cases") or [c.get("runs", {})]})
    return out


def _applies(when: str | None, names: dict) -> bool:
    if when is None:
        return True
    try:
        return bool(evaluate(when, names))
    except AttributeError:                          # a metric this run's evaluation does not have
        return False


def evaluate_claims(R: dict, claims: list[dict] | None = None) -> list[tuple[str, str, str, list[str]]]:
    """(claim, "holds" / "does not hold", numbers, the runs it rests on) for every case of every claim whose
    runs are all evaluated in R (run name -> record, as docs/results.json)."""
    out = []
    for c in claims if claims is not None else load_claims():
        if c["each"]:
            runs = [{"r": Record(n, R[n])} for n in R if _applies(c["when"], {"r": Record(n, R[n])})]
            if runs:
                ok = all(evaluate(c["holds"], names) for names in runs)
                out.append((c["text"], "holds" if ok else "does not hold",
                            "; ".join(fill(c["numbers"], names) for names in runs) + c["numbers_end"],
                            [names["r"].name for names in runs]))
            continue
        for case in c["cases"]:
            names = {k: _bind(v, R) for k, v in case.items()}
            if any(v is None for v in names.values()) or not _applies(c["when"], names):
                continue
            verdict = "holds" if evaluate(c["holds"], names) else "does not hold"
            out.append((fill(c["text"], names), verdict, fill(c["numbers"], names),
                        sorted({b.name for b in names.values()})))
    return out


def load_notes(path: Path = NOTES) -> dict[str, str]:
    """run name -> its note (markdown, figures as `{run.metric:fmt}`) from the `## run` sections of `path`;
    text before the first section is the file's own introduction and is not a note."""
    notes, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            notes[name] = []
        elif name is not None:
            notes[name].append(line)
    return {k: " ".join(" ".join(v).split()) for k, v in notes.items()}


_OTHER = re.compile(r"@([A-Za-z0-9][\w-]*?)(?:@(\d+))?(?=\.)")


def render_note(name: str, text: str, R: dict) -> str:
    """Run `name`'s note with each `{expr}` / `{expr:fmt}` filled from R (run name -> record, as
    docs/results.json). In expr a bare metric is the run's own (`nll`, `kl`), `paper.nll` its paper's figure,
    `model.latent_dim` its config, and `@other.kl` (`@other@1.kl`: its second evaluation) another run's.
    Raises KeyError naming a run that R lacks, AttributeError for a metric a run lacks."""
    if name not in R:
        raise KeyError(f"the note on {name} has no record to fill it from")

    def one(m):
        expr, fmt = m.group(1), m.group(2) or ""
        names = {k: v for k, v in R[name]["evals"][0].items()}
        own = Record(name, R[name])
        names.update(paper=own.paper, model=own.model)

        def other(o):
            run, idx = o.group(1), int(o.group(2) or 0)
            if run not in R or len(R[run]["evals"]) <= idx:
                raise KeyError(f"the note on {name} cites {run}, which has no record (evaluation {idx})")
            key = f"_run{len(names)}"
            names[key] = Record(run, R[run], idx)
            return key
        return format(evaluate(_OTHER.sub(other, expr), names), fmt)
    return _FIELD.sub(one, text)
