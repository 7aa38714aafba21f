"""The papers' PTB tables, reproduced by models trained to convergence with the papers' protocols.

    python bench/reproduce.py list                                  # every run: command and state
    nohup python bench/reproduce.py train k19-vae k19-avg5 --max-minutes 600 --threads 1 > k19.log &
    nohup python bench/reproduce.py train he-lm he-vae --evaluate --max-minutes 150 > q.log &  # + each one's test
    python bench/reproduce.py train smim512 --device cuda --max-minutes 10  # on a GPU: float32 (--amp off)
    python bench/reproduce.py evaluate k19-vae k19-avg5             # PTB test, on each run's OUT/best
    python bench/reproduce.py evaluate k19-avg5 --zoo --iw 100      # ... or on its committed checkpoints/NAME
    python bench/reproduce.py zoo bowman-vae --iw 10                # float16 copy in checkpoints/, zoo.json entry
    python bench/reproduce.py report                                # docs/results.{md,json}
    python bench/reproduce.py ledger                                # docs/runs-ledger.md

Run directories live outside the checkout (`--runs`, default ../runs beside it), so a fresh checkout keeps
them. `train` works through its names in order, starting each run or resuming it (`--resume`) where its
last checkpoint stopped, until the run is finished (its epochs, or early stopping on validation) or the
invocation's `--max-minutes` are spent; run it again to continue. Two 1-thread invocations side by side use
2 cores better than one 2-thread one. Every command goes through the project's own CLIs (`python -m
vae_core.train`, `python -m vae_core.evaluate`), and the report prints them exactly.
`evaluate` scores `OUT/best` (the model that was best on validation, as Kruengkrai 2019 and Bowman et al.
2016 report) on PTB test and writes `RUNS/NAME.eval.json`; `report` joins those with the papers' numbers.
A run directory is lost with its machine: `report` then keeps the run's record from the committed
docs/results.json, and `evaluate NAME --zoo` re-scores the run's committed float16 copy in checkpoints/.

What the runner reads is data: bench/runs.toml (each run's flags and paper row), bench/papers.toml (the
papers' figures with their table and row), bench/claims.toml (the papers' claims as expressions over the
runs' figures) and bench/notes.md (the notes on each row, whose figures are filled from the records);
bench/findings.py evaluates the last two.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))      # vae_core for zoo and ledger, imported there (it loads torch)
sys.path.insert(0, str(ROOT / "bench"))
from findings import evaluate_claims, load_notes, render_note  # noqa: E402  (bench/ is not a package)
from vae_core.schedules import selection_metric  # noqa: E402  (no torch)
DATA = ROOT.parent / "shared" / "data" / "ptb"
RUNS = ROOT.parent / "runs"
ZOO = ROOT / "checkpoints"
N_TEST = 3761



def load_runs(runs_file: Path = ROOT / "bench" / "runs.toml", papers_file: Path = ROOT / "bench" / "papers.toml") -> dict:
    """The runs' specs, from data files: name -> {"train": flags, "paper": {"source", the paper's figures},
    and "iw", "data", "extra_eval" where given}. `runs_file` names for each run a row of `papers_file` (the
    papers' numbers with their table and row), the figures of it compared (paper_keys) and what to say of the
    run beside its source (paper_note / paper_source); see the head of bench/runs.toml. Raises KeyError
    for a run naming a row or a figure that papers_file does not have."""
    import tomllib
    papers = tomllib.loads(papers_file.read_text())
    specs = {}
    for name, r in tomllib.loads(runs_file.read_text()).items():
        row = papers[r["paper"]] if "paper" in r else {}
        keys = r.get("paper_keys", [k for k in row if k != "source"])
        source = r.get("paper_source", row.get("source", "") + r.get("paper_note", ""))
        spec = {"train": r["train"], "paper": {"source": source, **{k: row[k] for k in keys}}}
        spec.update({k: r[k] for k in ("iw", "data", "extra_eval") if k in r})
        specs[name] = spec
    return specs


# name -> training flags, the paper's numbers under our evaluation keys, extra evaluations, IW samples
RUNS_SPEC: dict[str, dict] = load_runs()

# every sMIM run (the BLEU claims, the retokenised rows), old settings and -v2 alike
SMIM_RUNS = tuple(n for n, spec in RUNS_SPEC.items() if "livne2020-smim" in spec["train"])
DEFAULT_IW = 100

def read_state(runs: Path, name: str) -> dict | None:
    """The run's saved progress and training config (None before its first checkpoint)."""
    f = runs / name / "config.json"
    if not f.is_file():
        return None
    cfg = json.loads(f.read_text())
    return {"progress": cfg["progress"], "train": cfg["train"], "model": cfg["model"], "history": cfg["history"]}


def scored_checkpoint(ckpt: Path) -> dict:
    """Which checkpoint an evaluation scored: its training step and epoch (from its config.json), so the report
    can say when a run's best epoch has moved on since its evaluation."""
    p = json.loads((ckpt / "config.json").read_text()).get("progress", {})
    return {"step": p.get("step"), "epoch": p.get("epoch")}


def val_metric(epoch: dict, train: dict | None = None) -> float:
    """The validation figure the trainer selects and early-stops on (`vae_core.schedules.selection_metric`): the
    A-MIM loss for sMIM, rec + beta KL under a constant KL weight beta (the run's `train` config), else the NLL."""
    t = train or {}
    return selection_metric(epoch, t.get("kl_anneal", "linear"), t.get("kl_start", 1.0))


def trained_on_gpu(state: dict) -> bool:
    """The run's training config names a CUDA device (its hours and tokens/s are not this CPU's)."""
    return str(state["train"].get("device", "auto")).startswith("cuda")


def best_epoch(history: dict, train: dict | None = None) -> dict | None:
    """The history record of the best validation epoch (the one `OUT/best` holds), or None; `train`: the run's
    training config, which says what the trainer selected by (`val_metric`)."""
    return min(history.get("epochs", []), key=lambda e: val_metric(e, train), default=None)


def epochs_without_improvement(history: dict, train: dict | None = None) -> int:
    """How many of the last epochs did not improve on the best validation NLL before them (the trainer's
    early-stopping count, recomputed from the history for checkpoints whose progress does not record it)."""
    best, bad = math.inf, 0
    for e in history.get("epochs", []):
        v = val_metric(e, train)
        best, bad = (v, 0) if v < best else (best, bad + 1)
    return bad


def finished(state: dict | None) -> bool:
    """The run ended: all its epochs, or early stopping (`early_stop` epochs in a row without improvement, or
    the "sa-vae" schedule's lr floor: the trainer's `stopped_early`)."""
    if state is None:
        return False
    p, t = state["progress"], state["train"]
    if "stopped_early" in p:                              # the trainer's own verdict
        return p["stopped_early"] or p["epoch"] >= t["epochs"]
    # states written before `stopped_early` existed
    bad = p["bad_epochs"] if "bad_epochs" in p else epochs_without_improvement(state["history"], t)
    return p["epoch"] >= t["epochs"] or (t.get("early_stop", 0) > 0 and bad >= t["early_stop"])


def run_data(name: str, runs: Path, data: Path) -> Path:
    """The PTB directory run `name` trains and is scored on: `data`, or the run's own (`RUNS_SPEC[name]["data"]`,
    relative to `runs`; e.g. PTB re-tokenised as its paper's code reads it)."""
    own = RUNS_SPEC[name].get("data")
    return runs / own if own else data


def device_flags(name: str, device: str) -> list[str]:
    """The flags that put run `name` on `device` ("auto" adds none). On a GPU a run whose spec names no
    `--amp` trains in float32 (`--amp off`), as its name and the CPU runs beside it promise: the trainer's
    own default there is bf16 autocast, which only the `*-bf16` runs ask for."""
    if device == "auto":
        return []
    amp = [] if device == "cpu" or "--amp" in RUNS_SPEC[name]["train"] else ["--amp", "off"]
    return ["--device", device, *amp]


def start_args(name: str, data: Path, out: Path, device: str = "auto") -> list[str]:
    """The `vae_core.train` arguments that start run `name` (its spec's flags, `{runs}` in them the runs
    directory, then `device_flags`): what `train` runs, and what the report and the ledger print (with the
    paths as a reader types them)."""
    flags = [f.replace("{runs}", str(out.parent)) for f in RUNS_SPEC[name]["train"]]
    return ["--data", str(data), "--out", str(out), *flags, *device_flags(name, device)]


def train_command(name: str, runs: Path, data: Path, threads: int, minutes: float,
                  device: str = "auto") -> list[str]:
    """The `vae_core.train` command that starts run `name`, or resumes it when it has a checkpoint
    (a resumed run keeps the precision it started with; `--device` may change)."""
    out = runs / name
    budget = ["--max-minutes", f"{minutes:.0f}", "--threads", str(threads)]
    if (out / "config.json").is_file():
        on = [] if device == "auto" else ["--device", device]
        return [sys.executable, "-m", "vae_core.train", "--out", str(out), "--resume", *budget, *on]
    return [sys.executable, "-m", "vae_core.train", *start_args(name, run_data(name, runs, data), out, device),
            *budget]


def paper_command(cmd: list[str]) -> str:
    """The command as a reader types it: `python`, and paths inside the checkout relative to it."""
    root = str(ROOT) + "/"
    return shlex.join(["python", *(a[len(root):] if a.startswith(root) else a for a in cmd[1:])])


# ------------------------------------------------------------------------------------------------ commands
TIMED_OUT = 124      # what run_forwarding_sigterm returns when the budget ended the command (as timeout(1))


def run_forwarding_sigterm(cmd: list[str], timeout_s: float | None = None, stdout=None, stderr=None) -> int:
    """Run `cmd` from the repository root and return its exit status; a SIGTERM to this process is passed on
    to it, so `kill QUEUE_PID` stops the training run with its final checkpoint (SIGINT from a terminal
    reaches both already). After `timeout_s` seconds the command is sent SIGTERM and TIMED_OUT is returned.
    `stdout` and `stderr`: open files for its output (default: this process's)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=stderr)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
            return TIMED_OUT
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_train(args) -> int:
    start = time.monotonic()
    minutes_left = lambda: args.max_minutes - (time.monotonic() - start) / 60  # noqa: E731
    for name in args.names:
        if not finished(read_state(args.runs, name)):
            left = minutes_left()
            if left < 1:
                print(f"[{name}] budget spent; resume with the same command", flush=True)
                return 0
            cmd = train_command(name, args.runs, args.data, args.threads, left, args.device)
            print(f"[{name}] {paper_command(cmd)}", flush=True)
            rc = run_forwarding_sigterm(cmd)
            if rc:
                print(f"[{name}] training exited with {rc}", flush=True)
                return rc
            if not finished(read_state(args.runs, name)):
                # the budget ran out, or the run was stopped by a signal: the queue stops with it
                print(f"[{name}] stopped before the end; resume with the same command", flush=True)
                return 0
        print(f"[{name}] finished", flush=True)
        if args.evaluate and not evaluated(name, args.runs):
            # scored at once, inside this budget: a machine lost before the next session takes the run with it
            if minutes_left() < 1:
                print(f"[{name}] budget spent before its evaluation; resume with the same command", flush=True)
                return 0
            rc = evaluate_run(name, args.runs, args.data, args.threads, timeout_s=minutes_left() * 60)
            if rc == TIMED_OUT:
                print(f"[{name}] the budget ended its evaluation; resume with the same command", flush=True)
                return 0
            if rc:
                return rc
    return 0


def evaluate_commands(name: str, runs: Path, data: Path, threads: int, iw: int | None = None,
                      checkpoint: Path | None = None) -> list[list[str]]:
    """The evaluate commands of run `name`: the main one (IW-NLL with the run's K, or `iw` to override it,
    e.g. a quick first look before the K = 500 pass) and the run's extra evaluations. They score
    `runs/NAME/best`, or `checkpoint` (the run's committed zoo copy once its directory is gone)."""
    spec, data = RUNS_SPEC[name], run_data(name, runs, data)
    ckpt = checkpoint if checkpoint is not None else runs / name / "best"
    base = [sys.executable, "-m", "vae_core.evaluate", str(ckpt), "--data", str(data),
            "--split", "test", "--json", "--threads", str(threads), "--batch-size", "64"]
    k = run_iw(name) if iw is None else iw
    return [base + ["--iw-samples", str(k)]] + [base + e for e in spec.get("extra_eval", [])]


def evaluate_run(name: str, runs: Path, data: Path, threads: int, iw: int | None = None, zoo: Path | None = None,
                 timeout_s: float | None = None) -> int:
    """Run the evaluate commands of run `name` (`evaluate_commands`) and write `runs/NAME.eval.json`: its
    evaluations and which checkpoint they scored. Returns 0, a command's non-zero exit status (its stderr's
    tail printed), or TIMED_OUT when the commands together ran past `timeout_s` seconds (nothing written)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    evals = []
    for cmd in evaluate_commands(name, runs, data, threads, iw, zoo):
        print(f"[{name}] {paper_command(cmd)}", flush=True)
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc = run_forwarding_sigterm(cmd, left, stdout=out, stderr=err)
            out.seek(0), err.seek(0)
            if rc:
                if rc != TIMED_OUT:
                    print(err.read()[-2000:], file=sys.stderr)
                return rc
            e = json.loads(out.read().strip().splitlines()[-1])
        e["command"] = paper_command(cmd)
        evals.append(e)
    scored = scored_checkpoint(zoo if zoo is not None else runs / name / "best")
    (runs / f"{name}.eval.json").write_text(json.dumps(
        {"evals": evals, "finished": finished(read_state(runs, name)) or zoo is not None, "scored": scored},
        indent=1))
    return 0


def evaluated(name: str, runs: Path) -> bool:
    """Whether `runs/NAME.eval.json` already scores the run's best checkpoint with the run's own IW samples."""
    best = runs / name / "best"
    return (best / "config.json").is_file() and has_better_eval(runs / f"{name}.eval.json", scored_checkpoint(best),
                                                                run_iw(name))


def run_iw(name: str) -> int:
    """The IW-NLL samples K of run `name`'s PTB test evaluation (its spec's `iw`, default DEFAULT_IW)."""
    return RUNS_SPEC[name].get("iw", DEFAULT_IW)


def cmd_evaluate(args) -> int:
    for name in args.names:
        zoo = ZOO / name if args.zoo else None
        if zoo is not None:
            if not (zoo / "config.json").is_file():
                print(f"[{name}] no committed checkpoint {zoo}", file=sys.stderr)
                return 2
        elif not finished(read_state(args.runs, name)) and not args.unfinished:
            print(f"[{name}] not finished; --unfinished evaluates its best checkpoint so far", flush=True)
            continue
        rc = evaluate_run(name, args.runs, args.data, args.threads, args.iw, zoo)
        if rc:
            return rc
    return 0


ZOO_TEST_KEYS = ("nll", "rec", "kl", "ppl", "iw_nll", "iw_nll_avg", "melbo", "melbo_ppl", "bleu1", "bleu1_clean",
                 "active_units",
                 "mutual_info", "mutual_info_batch", "n_sentences", "iw_samples", "nll_avg_tuple")


def has_better_eval(eval_file: Path, scored: dict, iw: int) -> bool:
    """Whether `eval_file` (a run's report evaluation) already scores the checkpoint `scored` (its step and
    epoch) with at least `iw` importance samples, so a quicker zoo evaluation must not replace it (an IW-NLL
    with K = 500 on all of PTB test took 80 minutes (AVG L = 5) and 1.9 h (L = 10) at 1 thread here; the zoo's
    K = 10 a few minutes)."""
    if not eval_file.is_file():
        return False
    ev = json.loads(eval_file.read_text())
    return ev.get("scored") == scored and ev["evals"][0].get("iw_samples", 0) >= iw


def cmd_zoo(args) -> int:
    """Add a finished run to the checkpoint zoo: export OUT/best as float16 to checkpoints/NAME, evaluate that
    committed copy on PTB test (IW-NLL with --iw samples; also the report's evaluation, runs/NAME.eval.json,
    for runs without extra evaluations, unless that file already scores the same checkpoint with as many samples
    or more) and on the first 300 test sentences (the check tests/test_zoo.py recomputes), and write its
    checkpoints/zoo.json entry (what, command, paper, numbers)."""
    import torch
    from vae_core.checkpoint import export_checkpoint, load_checkpoint
    from vae_core.data import Corpus, split_path
    from vae_core.estimators import evaluate_corpus
    for name in args.names:
        state = read_state(args.runs, name)
        done = finished(state)
        if state is None or not (done or args.unfinished):
            print(f"[{name}] not finished; nothing exported (--unfinished exports its best checkpoint so far)",
                  file=sys.stderr)
            return 2
        dest = export_checkpoint(args.runs / name / "best", ZOO / name, torch.float16)
        cmd = evaluate_commands(name, args.runs, args.data, args.threads, args.iw, dest)[0]
        print(f"[{name}] {paper_command(cmd)}", flush=True)
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        test = json.loads(res.stdout.strip().splitlines()[-1])
        report_eval, scored = args.runs / f"{name}.eval.json", scored_checkpoint(dest)
        if not (RUNS_SPEC[name].get("extra_eval") or has_better_eval(report_eval, scored, args.iw)):
            # the report's evaluation too (what `evaluate NAME --zoo` would compute again)
            report_eval.write_text(json.dumps(
                {"evals": [test | {"command": paper_command(cmd)}], "finished": done, "scored": scored}, indent=1))
        torch.set_num_threads(args.threads)
        ck = load_checkpoint(dest)
        test_path = split_path(run_data(name, args.runs, args.data), "test")
        first = Corpus(Corpus.from_file(test_path, ck.vocab).sentences[:300], ck.vocab)
        check = evaluate_corpus(ck.model, first, iw_samples=0, bleu=False)
        zoo_file = ZOO / "zoo.json"
        zoo = json.loads(zoo_file.read_text())
        m, p, prog = state["model"], RUNS_SPEC[name]["paper"], state["progress"]
        b = best_epoch(state["history"], state["train"])
        epochs = (f"{prog['epoch']} epochs" if done else f"{prog['epoch']} of {state['train']['epochs']} epochs") + \
            (f", best on validation at epoch {b['epoch']} (the exported weights)" if b else "") + \
            ("" if done else " (unfinished: stopped by the time budget, not converged)")
        minutes = 600 if done else math.ceil(prog["train_seconds"] / 60)
        numbers = ", ".join(f"{k} {v}" for k, v in p.items() if k != "source")     # none for the unpublished rows
        zoo[name] = {
            "what": f"{m['model']} {m.get('rnn', 'lstm').upper()} {m['emb_dim']}/{m['hidden_dim']}/{m['latent_dim']}, "
                    f"{epochs}, trained with `{shlex.join(RUNS_SPEC[name]['train'])}` (run {name}), float16",
            "command": (f"python bench/reproduce.py train {name} --max-minutes {minutes} "
                        f"--threads {state['train']['threads']} && "
                        f"python bench/reproduce.py zoo {name} --iw {args.iw}{'' if done else ' --unfinished'}"),
            "paper": f"{p['source']}: {numbers}" if numbers else p["source"],
            "test": {k: (round(test[k], 4) if isinstance(test[k], float) else test[k])
                     for k in ZOO_TEST_KEYS if test.get(k) is not None},
            "check_first_300": {k: round(check[k], 4) for k in ("nll", "rec", "kl")} | {"active_units": check["active_units"]},
        }
        zoo_file.write_text(json.dumps(zoo, indent=1) + "\n")
        size = sum(f.stat().st_size for f in dest.iterdir()) / 1e6
        print(f"[{name}] {dest} ({size:.1f} MB) and its zoo.json entry written", flush=True)
    return 0


def cmd_rescore_bleu(args) -> int:
    """BLEU-1 in both conventions on the committed float16 copies: `bleu1`, Livne et al.'s code's (their Table 2's;
    the reference's <eos> made <pad>, the decode's <eos> kept) and `bleu1_clean` (words only, what `bleu1` was
    until 2026-12-07), written into docs/results.json (each run's main evaluation) and checkpoints/zoo.json. The
    runs named must have a checkpoints/NAME copy; every other record with an old-style `bleu1` gets it as
    `bleu1_clean` and `bleu1` null (its weights are not kept, so their convention cannot be scored)."""
    import torch
    from vae_core.checkpoint import load_checkpoint
    from vae_core.data import Corpus, split_path
    from vae_core.estimators import reconstruction_bleu1
    torch.set_num_threads(args.threads)
    docs = ROOT / "docs"
    R = recorded(docs)
    zoo_file = ZOO / "zoo.json"
    zoo = json.loads(zoo_file.read_text())
    for name, r in R.items():
        for e in r["evals"]:
            if e.get("bleu1") is not None and "bleu1_clean" not in e:
                e["bleu1_clean"], e["bleu1"] = e["bleu1"], None
    for name in args.names:
        ck = load_checkpoint(ZOO / name)
        corpus = Corpus.from_file(split_path(args.data, "test"), ck.vocab)
        t = time.time()
        b = reconstruction_bleu1(ck.model, corpus, "posterior_sample", seed=0)
        print(f"[{name}] bleu1 {b['livne']:.4f} (their convention), bleu1_clean {b['clean']:.4f}, "
              f"{time.time() - t:.0f} s", flush=True)
        if name in R:
            R[name]["evals"][0].update(bleu1=b["livne"], bleu1_clean=b["clean"],
                                       bleu_scored_on=f"checkpoints/{name} (float16), 2026-12-07")
        if name in zoo:
            zoo[name]["test"].update(bleu1=round(b["livne"], 4), bleu1_clean=round(b["clean"], 4))
    (docs / "results.json").write_text(json.dumps(R, indent=1))
    zoo_file.write_text(json.dumps(zoo, indent=1) + "\n")
    return 0


def run_record(name: str, runs: Path, data: Path) -> dict | None:
    """Everything the report says about one run, or None if it has not been evaluated."""
    f = runs / f"{name}.eval.json"
    state = read_state(runs, name)
    if not f.is_file() or state is None:
        return None
    ev = json.loads(f.read_text())
    p, epochs = state["progress"], state["history"]["epochs"]
    best = best_epoch(state["history"], state["train"])
    gpu = trained_on_gpu(state)
    return {"name": name, "model": state["model"], "progress": p, "evals": ev["evals"], "paper": RUNS_SPEC[name]["paper"],
            "finished": ev["finished"], "epochs": p["epoch"], "epochs_planned": state["train"]["epochs"],
            "early_stop": state["train"].get("early_stop"),
            "best_epoch": best["epoch"] if best else None, "val_last_drop": _last_drop(epochs, state["train"]),
            "scored_epoch": ev.get("scored", {}).get("epoch"),
            "train_hours": round(p["train_seconds"] / 3600, 2), "tokens_per_s": p.get("tokens_per_s"),
            "threads": state["train"]["threads"], "device": "cuda" if gpu else "cpu",
            "train_command": record_command(name, runs, data, gpu)}


def record_command(name: str, runs: Path, data: Path, gpu: bool) -> str:
    """The command that trains run `name` as its spec says now (a kept record's command follows the spec, so
    a preset that changed after the run is answered by flags in the spec, e.g. the sMIM runs' `--encoder-bos
    false --bucket true` in bench/runs.toml)."""
    start = start_args(name, run_data(name, runs, data), runs / name, "cuda" if gpu else "auto")
    return shlex.join(["python", "-m", "vae_core.train", *start])


# ------------------------------------------------------------------------------------------------ report
def _f(v, nd=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and abs(v) >= 1e6:
        return f"{v:.2e}"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def avg_against_vae() -> dict[str, str]:
    """Each Kruengkrai AVG run and the LSTM-VAE run it is judged against: the one trained with the same encoder
    dropout (the `*-encdrop` runs against k19-vae-encdrop, the rest against k19-vae)."""
    return {name: "k19-vae-encdrop" if "--encoder-emb-dropout" in spec["train"] else "k19-vae"
            for name, spec in RUNS_SPEC.items() if "kruengkrai2019-avg" in spec["train"]}


def mark_unfinished(verdict: str, finished: bool) -> str:
    """`verdict`, with " (unfinished)" when it rests on a run stopped before convergence."""
    return verdict if finished else f"{verdict} (unfinished)"


def claims(R: dict) -> list[tuple[str, str, str]]:
    """(claim, verdict, numbers) for each claim of bench/claims.toml the runs can test (`findings.evaluate_claims`);
    a verdict resting on an unfinished run (`R[name]["finished"]` false) is marked by `mark_unfinished`."""
    return [(c, mark_unfinished(v, all(R[n].get("finished", True) for n in runs)), numbers)
            for c, v, numbers, runs in evaluate_claims(R)]


def _last_drop(epochs: list[dict], train: dict | None = None) -> float | None:
    """How much the validation metric (`val_metric`) fell in the last epoch, in nats."""
    if len(epochs) < 2:
        return None
    v = [val_metric(e, train) for e in epochs[-2:]]
    return round(v[0] - v[1], 3)


def why_missed(name: str, R: dict, notes: dict[str, str] | None = None) -> str | None:
    """The report's note on run `name` of R, or None: its note in bench/notes.md (why it misses its paper's
    number, or what differs in a row within its target), filled from R (`findings.render_note`), and, for an
    unfinished run, how far it got, whether validation was still improving and how many epochs its best lies
    behind the last. Every row with a note is listed under "Why the misses"."""
    notes = load_notes() if notes is None else notes
    r = R[name]
    parts = [render_note(name, notes[name], R)] if name in notes else []
    if not r["finished"]:
        drop, b = r.get("val_last_drop"), r.get("best_epoch")
        behind = bool(b and b < r["epochs"])              # the last epoch is not the best one
        trend = ("." if drop is None else
                 f"; the validation loss {'fell' if behind else 'still fell'} {drop:.2f} nats in the last epoch."
                 if drop >= 0 else f"; the validation loss rose {-drop:.2f} nats in the last epoch.")
        gap = r["epochs"] - b if behind else 0
        since = (f" Its best on validation is epoch {b}, {gap} epoch{'s' * (gap > 1)} before the last (early "
                 f"stopping waits {r['early_stop']})." if behind and r.get("early_stop") else "")
        parts.append(f"Unfinished: {r['epochs']} of {r.get('epochs_planned', '?')} epochs in {r['train_hours']:.1f} h, "
                     f"stopped by the session's time budget{trend}{since}")
    return " ".join(parts) or None


def _gpu_mark(r: dict) -> str:
    """' (GPU)' after the hours of a run trained on a GPU (its hours and tokens/s are not this CPU's)."""
    return " (GPU)" if r.get("device") == "cuda" else ""


def _epochs_cell(r: dict) -> str:
    """'17 (best 14)', or '13 of 40, unfinished (best 13)' for a run the time budget stopped; '(best 18; scored:
    epoch 16)' when the run's best epoch moved on after the evaluation the row shows."""
    planned = "" if r["finished"] or not r.get("epochs_planned") else f" of {r['epochs_planned']}, unfinished"
    scored = r.get("scored_epoch")
    moved = f"; scored: epoch {scored}" if scored is not None and scored != r["best_epoch"] else ""
    return f"{r['epochs']}{planned} (best {r['best_epoch']}{moved})"


def _rounding(v: float) -> float:
    """Half a unit in the last printed place of a paper's figure: an int was printed to units, a float to the
    decimals it is written with here (100 -> 0.5, 99.4 -> 0.05, 27.93 -> 0.005)."""
    if isinstance(v, int):
        return 0.5
    decimals = repr(float(v)).split(".")[1]
    return 0.5 if decimals == "0" else 0.5 * 10 ** -len(decimals)


def implied_tokens(nll: float, ppl: float) -> tuple[float, float]:
    """The tokens per sentence that a paper's per-sentence NLL and its perplexity imply, t = NLL / ln PPL
    (PPL = exp(total NLL / total tokens)), as an interval over the rounding of both printed figures."""
    dn, dp = _rounding(nll), _rounding(ppl)
    return (nll - dn) / math.log(ppl + dp), (nll + dn) / math.log(ppl - dp)


# (per-sentence bound, its perplexity): the pairs a paper may give for one row
_PPL_PAIRS = (("nll", "ppl"), ("melbo", "melbo_ppl"))
_PPL_KEY = dict(_PPL_PAIRS)
# Rows whose paper scored the same PTB test sentences in other tokens: Livne et al.'s figures imply 22.70 tokens
# a sentence, their TweetTokenizer's 21.71 words (bench/livne_tokenise.py) plus one. The sentences being the
# same, the per-sentence comparison is the like-for-like one there, and no per-token verdict is added.
# (smim128-livnetok is scored on their tokens: 21.71 + 1 = 22.71, within rounding of the 22.70 their figures give.)
RETOKENISED = set(SMIM_RUNS)


def length_checks(record: dict) -> list[dict]:
    """For each (bound, perplexity) pair the paper gives: the tokens a sentence its figures imply, ours (our
    evaluation's own bound / ln perplexity: 21.92 on PTB test with `<eos>`), whether the two agree within the
    paper's rounding (or the paper scored the same sentences in other tokens: RETOKENISED), and our per-token
    difference in nats a sentence of the paper's test set,
    t_paper * ln(PPL_ours / PPL_paper). Per-sentence NLLs compare only where the sentences are the same."""
    e, pp, out = record["evals"][0], record["paper"], []
    for nll_key, ppl_key in _PPL_PAIRS:
        if nll_key in pp and ppl_key in pp and e.get(nll_key) is not None and e.get(ppl_key) is not None:
            lo, hi = implied_tokens(pp[nll_key], pp[ppl_key])
            ours = e[nll_key] / math.log(e[ppl_key])
            out.append({"key": nll_key, "paper": (lo, hi), "ours": ours,
                        "same": lo <= ours <= hi or record.get("name") in RETOKENISED,
                        "per_token_gap": (lo + hi) / 2 * math.log(e[ppl_key] / pp[ppl_key])})
    return out


def _same_cell(name: str, check: dict) -> str:
    if name in RETOKENISED:
        return "the same sentences in the authors' tokens"
    return "yes" if check["same"] else "**no**"


def _verdict(gaps: list[float]) -> str:
    return "within 1 nat" if all(abs(g) <= 1.0 for g in gaps) else (
        "within 2 nats" if all(abs(g) <= 2.0 for g in gaps) else "missed")


def target(record: dict) -> str:
    """Within 1 nat (or 2) of the paper's NLL (MELBO for sMIM) and KL, as the issue asks; for a row that gives a
    perplexity but no bound, its PPL (or IW-PPL) within 3%; '–' without a paper number.

    Where the paper's own NLL and perplexity imply a test set of other sentence lengths than ours
    (`length_checks`), the per-sentence verdict is followed by the per-token one (the bound's difference
    as t_paper * ln(PPL_ours / PPL_paper), the KL's as it is)."""
    e, pp = record["evals"][0], record["paper"]
    keys = [k for k in ("nll", "nll_excl_eos", "melbo", "kl") if k in pp and e.get(k) is not None]
    ppls = [k for k in ("ppl", "iw_ppl") if k in pp and e.get(k) is not None]
    if not keys and not ppls:
        return "–"
    if ppls and not any(k in keys for k in ("nll", "nll_excl_eos", "melbo")):
        # a row that gives a perplexity but no bound (Optimus' VAE row): per token, within 3%, and its KL
        gaps = [abs(e[k] / pp[k] - 1) for k in ppls]
        verdict = ("PPL within 3%" if all(g <= 0.03 for g in gaps) else "PPL missed") + (
            f"; KL {_verdict([e['kl'] - pp['kl']])}" if "kl" in keys else "")
        return mark_unfinished(verdict, record.get("finished", True))
    verdict = _verdict([e[k] - pp[k] for k in keys])
    differ = {c["key"]: c for c in length_checks(record) if not c["same"]}
    if differ and verdict != "within 1 nat":
        per_token = _verdict([differ[k]["per_token_gap"] if k in differ else e[k] - pp[k] for k in keys])
        c = next(iter(differ.values()))
        verdict += (f" per sentence; {per_token} per token (the paper's test set has {sum(c['paper']) / 2:.1f} "
                    f"tokens a sentence, ours {c['ours']:.1f})")
    return mark_unfinished(verdict, record.get("finished", True))


def recorded(docs: Path) -> dict:
    """The records of the committed report (docs/results.json), by run name; {} if there is none."""
    f = docs / "results.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def report_records(runs: Path, docs: Path, data: Path) -> dict:
    """Every run the report shows: measured from its run directory where that has an evaluation, otherwise
    the record the committed report already holds. Run directories live outside the checkout and are lost
    with their machine; a run measured once stays in the report until it is trained and evaluated again."""
    old, R = recorded(docs), {}
    for name in RUNS_SPEC:
        r = run_record(name, runs, data)
        if r is None and name in old:
            r = {**old[name], "paper": RUNS_SPEC[name]["paper"],
                 "train_command": record_command(name, runs, data, old[name].get("device") == "cuda")}
            f = runs / f"{name}.eval.json"
            if f.is_file() and read_state(runs, name) is None:     # re-evaluated from its zoo copy (--zoo)
                r["evals"] = json.loads(f.read_text())["evals"]
        if r is not None:
            R[name] = r
    return R


def paper_cells(record: dict) -> list[str]:
    """'key paper (ours ours, ours - paper)' for each of the paper's numbers, ours from the run's main
    evaluation; an importance-sampled figure names our K (Table 3's is 500), so a quicker K shows."""
    e, cells = record["evals"][0], []
    for k, v in record["paper"].items():
        if k == "source":
            continue
        ours = e.get(k)
        nd = 3 if k.startswith("bleu") else 2
        at = f" at K = {e['iw_samples']}" if k.startswith("iw_") and e.get("iw_samples") else ""
        if ours is None and k == "bleu1" and e.get("bleu1_clean") is not None:
            cells.append(f"{k} {v} (ours {_f(e['bleu1_clean'], 3)} words only; weights not kept to score their "
                         f"convention)")
            continue
        cells.append(f"{k} {v} (ours {_f(ours, nd)}{at}, {ours - v:+.{nd}f})" if ours is not None else f"{k} {v}")
    return cells


def write_report(runs: Path, docs: Path, data: Path) -> None:
    R = report_records(runs, docs, data)
    if not R:
        print("no evaluated runs yet", file=sys.stderr)
        return
    docs.mkdir(exist_ok=True)
    (docs / "results.json").write_text(json.dumps(R, indent=1))
    rows, paper_rows, extra = [], [], []
    for name, r in R.items():
        e, m = r["evals"][0], r["model"]
        arch = (f"MLP {m['hidden_dim']}/{m['latent_dim']}" if m["model"] == "bow" else
                f"{m.get('rnn', 'lstm').upper()} {m['emb_dim']}/{m['hidden_dim']}/{m['latent_dim']}")
        rows.append(f"| {name} | {m['model']} {arch} | {_f(e['nll'])} | {_f(e['iw_nll'])} ({e['iw_samples']}) | "
                    f"{_f(e['kl'])} | {_f(e['ppl'], 1)} | {_f(e['melbo'])} | {_f(e['melbo_ppl'], 1)} | "
                    f"{_f(e['bleu1'], 3)} / {_f(e.get('bleu1_clean'), 3)} | "
                    f"{_f(e.get('mutual_info_batch'))} / {_f(e['mutual_info'])} | "
                    f"{_f(e['active_units'])} | {_epochs_cell(r)} | {r['train_hours']:.1f}{_gpu_mark(r)} | "
                    f"{_f(r['tokens_per_s'], 0)} |")
        paper_rows.append(f"| {name} | {r['paper']['source']} | {'; '.join(paper_cells(r)) or 'no PTB number'} | "
                          f"{target(r)} |")
        for e2 in r["evals"][1:]:
            if e2.get("nll_refined") is None:
                continue
            extra.append(f"| {name} | {e2['n_sentences']} | {e2['refine_steps']} x lr {e2['refine_lr']} | "
                         f"{_f(e2['nll'], 3)} | {_f(e2['nll_refined'], 3)} | {_f(e2['kl'])} -> {_f(e2['kl_refined'])} | "
                         f"{e2['active_units']} -> {e2['active_units_refined']} |")
    cmds = [f"# {n}{_trained_as(n, r)}\n{r['train_command']}\n" + "\n".join(e["command"] for e in r["evals"])
            for n, r in R.items()]
    unfinished = [n for n, r in R.items() if not r["finished"]]
    notes = load_notes()
    misses = [f"- **{n}**: {w}" for n in R if (w := why_missed(n, R, notes))]
    lengths = [f"| {n} | {c['key']} {r['paper'][c['key']]}, PPL {r['paper'][_PPL_KEY[c['key']]]} | "
               f"{c['paper'][0]:.2f}-{c['paper'][1]:.2f} | {c['ours']:.2f} | {_same_cell(n, c)} | "
               f"{'–' if n in RETOKENISED else format(c['per_token_gap'], '+.2f')} |"
               for n, r in R.items() for c in length_checks(r)]
    if misses:
        misses.insert(0, "\nWhy the misses (and what differs in a row within its target):\n")
    md = f"""# PTB reproduction: converged runs beside the papers' numbers

Made by `python bench/reproduce.py report` from the runs in `docs/runs-ledger.md`. Each run trains with its
paper's configuration and protocol (`vae_core/presets.py`) until its epochs end or validation stops
improving, and `OUT/best` (best validation epoch) is evaluated on PTB test (3761 sentences, 82430 tokens with
`<eos>`). {"Unfinished runs (stopped by the time budget before their epochs ended or early stopping; numbers from their best checkpoint so far, not converged): " + ", ".join(unfinished) + "." if unfinished else ""}

Units: nats per sentence. NLL = negative ELBO; IW-NLL with K samples in brackets; PPL counts one `<eos>`
per sentence (bag-of-words: per word). MELBO (Livne et al. Eq. 16) and its PPL leave the `<eos>` term out,
as their code does. BLEU-1: mean sentence BLEU-1 on PTB tokens of a reconstruction from z ~ q(z|x) with
sampled words (their test.py), in their code's convention / of the words only: their test.py scores the
target, whose `<eos>` it has overwritten with `<pad>`, against the decode, which keeps its `<eos>` (so a
perfect n-word reconstruction scores n / (n + 1)); that convention is the one to compare with their Table 2,
and it was scored on the committed checkpoints only ("–" where a run's weights are not kept). MI: He et al.'s per-batch figure (batches of 32 equal-length sentences, what
published MI numbers use) / the whole-split aggregate posterior (up to about log N = {math.log(N_TEST):.2f};
it can exceed log N slightly, see `vae_core.estimators.mutual_info`). AU: active units (Cov > 0.01).
Epochs: trained (best on validation); hours and tokens/s: wall clock on this 2-core CPU, or, marked
(GPU), on one NVIDIA H200 in float32 (PyTorch's defaults: TF32 in cuDNN's recurrent kernels).

## Measured

| run | model | NLL | IW-NLL (K) | KL | PPL | MELBO | MELBO PPL | BLEU-1 theirs / words | MI batch / split | AU | epochs | hours | tokens/s |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Against the papers

| run | paper | paper value (ours, ours - paper) | target |
|---|---|---|---|
{chr(10).join(paper_rows)}
{chr(10).join(misses)}

## Is the paper's test set ours?

A per-sentence NLL depends on how long the sentences are. A paper that prints a row's NLL and its perplexity
fixes the tokens a test sentence has, t = NLL / ln PPL (the interval covers the rounding of the printed
figures). Where that is not ours, the row is also compared per token: t_paper * ln(PPL_ours / PPL_paper) is
our difference in nats a sentence of the paper's own test set. Kruengkrai's figures fit our test set (the
Mikolov split with one `<eos>` a sentence) to the second decimal; Bowman et al.'s imply about 21.1 tokens
a sentence, so theirs is another test set or another count, and their per-sentence NLLs are not on our
scale. Livne et al.'s imply 22.70: the same sentences in their TweetTokenizer tokens (21.71 words, plus
one), which `smim128-livnetok` trains and scores on.

| run | paper's figures | tokens a sentence they imply | ours | same? | ours - paper, per token (nats a paper sentence) |
|---|---|---|---|---|---|
{chr(10).join(lengths) or "| (no measured run has a paper perplexity) | | | | | |"}

## Secondary optimisation at test time (Krishnan et al. 2018)

| run | sentences | steps x lr | -ELBO before | -ELBO after | KL | AU |
|---|---|---|---|---|---|---|
{chr(10).join(extra) or "| (no run with these evaluations is finished yet) | | | | | | |"}

## The papers' claims

| claim | verdict | numbers |
|---|---|---|
{chr(10).join(f'| {c} | **{v}** | {n} |' for c, v, n in claims(R))}

## Commands

```bash
{chr(10).join(cmds)}
```
"""
    (docs / "results.md").write_text(md)
    print(f"wrote {docs / 'results.md'} and {docs / 'results.json'}")


def _trained_as(name: str, record: dict) -> str:
    """A note for a run scored in a run directory of another name (a record renamed after its run, e.g. the
    encoder-dropout k19 runs trained as k19-vae and k19-vae-bf16), so its commands are not read as this run's."""
    dirs = {Path(e["checkpoint"]).parent.name for e in record["evals"] if Path(e["checkpoint"]).name == "best"}
    others = sorted(d for d in dirs if d != name)
    note = f" (trained and scored as {', '.join(others)}: renamed afterwards, see docs/runs-ledger.md)"
    return note if others else ""


def cmd_report(args) -> int:
    write_report(args.runs, args.docs, args.data)
    return 0


def cmd_list(args) -> int:
    for name, spec in RUNS_SPEC.items():
        state = read_state(args.runs, name)
        print(f"{name:17} {status_line(state):60} {shlex.join(spec['train'])}")
    return 0


def status_line(state: dict | None, resumable: bool = True) -> str:
    """The ledger's state cell; a partial run whose directory holds only its config.json (e.g. brought back
    from a GPU machine without its weights and optimiser state) says it cannot be resumed."""
    if state is None:
        return "not started"
    p = state["progress"]
    best = val_metric(b, state["train"]) if (b := best_epoch(state["history"], state["train"])) else None
    what = "finished" if finished(state) else "partial" if resumable else "partial, not resumable (config.json only)"
    on = " on a GPU" if trained_on_gpu(state) else ""
    line = (f"{what}: step {p['step']}, epoch {p['epoch']}/{state['train']['epochs']}, best val "
            f"{_f(best)}, {p['train_seconds'] / 3600:.1f} h{on}")
    left = hours_left(state)
    return line if left is None or finished(state) else f"{line}; at most {left:.1f} h more at its pace"


def hours_left(state: dict) -> float | None:
    """Training hours the run's remaining epochs take at the median pace of its epochs so far (`epoch_seconds`
    of its history): at most that at this pace, since early stopping or the lr schedule may end it sooner.
    None before its first epoch."""
    seconds = sorted(e["epoch_seconds"] for e in state["history"]["epochs"] if e.get("epoch_seconds"))
    if not seconds:
        return None
    return max(state["train"]["epochs"] - state["progress"]["epoch"], 0) * seconds[len(seconds) // 2] / 3600


def cmd_ledger(args) -> int:
    """Rewrite the ledger's table of run states (the notes above the table are kept)."""
    f = args.docs / "runs-ledger.md"
    marker = "<!-- state table: python bench/reproduce.py ledger -->"
    head = f.read_text().split(marker)[0] if f.is_file() else "# Run ledger\n\n"
    lines = [marker, "", f"State at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, run directories in "
             f"`{args.runs}`:", "", "| run | state | command (start; resume with `--out DIR --resume`) |", "|---|---|---|"]
    from vae_core.checkpoint import TRAINER          # the file `--resume` needs (imports torch: not at start-up)
    old = recorded(args.docs)
    for name in RUNS_SPEC:
        state = read_state(args.runs, name)
        line = status_line(state, (args.runs / name / TRAINER).is_file())
        if state is None and name in old:
            r = old[name]
            done = (f"finished before (epoch {r['epochs']}" if r["finished"] else
                    f"stopped unfinished before (epoch {r['epochs']} of {r['epochs_planned']}")
            line = f"{done}, {r['train_hours']:.1f} h); its run directory is gone, its record is in docs/results.json"
        gpu = state is not None and trained_on_gpu(state)
        cmd = record_command(name, Path(args.runs.name), Path("../shared/data/ptb"), gpu)    # as a reader types it
        lines.append(f"| {name} | {line} | `{cmd}` |")
    f.write_text(head + "\n".join(lines) + "\n")
    print(f"wrote {f}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs", type=Path, default=RUNS, help="run directories (outside the checkout)")
    common.add_argument("--data", type=Path, default=DATA)
    common.add_argument("--docs", type=Path, default=ROOT / "docs")
    common.add_argument("--threads", type=int, default=1)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", parents=[common], help="every run, its state and its training flags")
    t = sub.add_parser("train", parents=[common], help="start or resume runs in order until finished or the budget ends")
    t.add_argument("names", nargs="+", choices=sorted(RUNS_SPEC))
    t.add_argument("--max-minutes", type=float, required=True, help="wall-clock budget of this invocation")
    t.add_argument("--device", default="auto",
                   help="cpu, cuda, ... (on a GPU: float32 unless the run's spec names --amp; `evaluate` picks "
                        "CUDA by itself when there is one)")
    t.add_argument("--evaluate", action="store_true",
                   help="evaluate each finished run on PTB test (as `evaluate`) before the next, inside the budget")
    e = sub.add_parser("evaluate", parents=[common], help="evaluate each run's best checkpoint on PTB test")
    e.add_argument("names", nargs="+", choices=sorted(RUNS_SPEC))
    e.add_argument("--unfinished", action="store_true", help="also evaluate runs still training")
    e.add_argument("--iw", type=int, help="IW-NLL samples K instead of the run's own (a quick look first)")
    e.add_argument("--zoo", action="store_true",
                   help="score the committed copy checkpoints/NAME (for a run whose directory is gone)")
    z = sub.add_parser("zoo", parents=[common], help="export finished runs to checkpoints/ and write their zoo.json entries")
    z.add_argument("names", nargs="+", choices=sorted(RUNS_SPEC))
    z.add_argument("--iw", type=int, default=10, help="IW-NLL samples K of the committed copy's test evaluation")
    z.add_argument("--unfinished", action="store_true",
                   help="export a run still training (its best checkpoint so far; the entry says it is unfinished)")
    sub.add_parser("report", parents=[common], help="write docs/results.md and docs/results.json")
    b = sub.add_parser("rescore-bleu", parents=[common], help="BLEU-1 in both conventions on committed checkpoints")
    b.add_argument("names", nargs="+")
    sub.add_parser("ledger", parents=[common], help="rewrite the state table of docs/runs-ledger.md")
    args = p.parse_args(argv)
    args.runs = args.runs.resolve()
    return {"list": cmd_list, "train": cmd_train, "evaluate": cmd_evaluate, "report": cmd_report,
            "ledger": cmd_ledger, "zoo": cmd_zoo, "rescore-bleu": cmd_rescore_bleu}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
