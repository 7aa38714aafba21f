"""Where the explorer may read: checkpoint roots and data roots.

The explorer is shared by link, and a link, a typed path or an upload is untrusted input. So the app reads
checkpoints only under its checkpoint roots and corpora only under its data roots, and names what it reads
by a root-relative name (`checkpoints/bowman-vae`, `data/ptb`) that links carry. A path outside the roots,
a path that does not exist and a path that cannot be read all get one message, so nothing about the rest
of the server can be learnt from the app, and no message lists a directory's files.

The roots (each named by its directory's base name, "-2", "-3" added on a clash):
    checkpoints  the repository's `checkpoints/` and `runs/`, plus every directory in the environment
                 variable VAE_APP_CHECKPOINT_ROOTS (separated by os.pathsep, ":" on Linux) and in the
                 Streamlit secret `checkpoint_roots` (a list of paths, `.streamlit/secrets.toml`); the
                 parent of VAE_APP_CHECKPOINT when the operator points the app outside them;
    data         `../shared/data` beside the checkout, plus VAE_APP_DATA_ROOTS and the secret `data_roots`.
Resolution follows symbolic links first, so neither `..` nor a link inside a root leads out of it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_ROOTS_ENV, DATA_ROOTS_ENV = "VAE_APP_CHECKPOINT_ROOTS", "VAE_APP_DATA_ROOTS"
CORPUS_ENV = "VAE_APP_CORPUS"      # a corpus file the operator names on the command line (`python -m app`)
MAX_NAME_CHARS = 1_000          # longer names are refused before the filesystem is asked
MAX_WALK_DEPTH = 4              # how deep the checkpoint listing looks under a root
MAX_WALK_DIRS = 20_000          # directories visited by one listing, whatever the roots hold
MAX_LISTED = 500                # checkpoints listed in the sidebar


class NotUnderRoots(LookupError):
    """A name that is not a readable path under the app's roots. One message for missing, unreadable and
    forbidden paths alike, so it tells nothing about paths outside the roots."""

    def __init__(self, name: str, what: str, roots: Sequence["Root"]):
        shown = name if len(name) <= 80 else name[:77] + "..."
        super().__init__(f"no {what} named {shown!r} under the app's {what} roots "
                         f"({', '.join(r.name for r in roots)}); names look like "
                         f"'{roots[0].name + '/...' if roots else '...'}'")


@dataclass(frozen=True)
class Root:
    """A directory the app may read under, and the name that stands for it in links and messages."""

    name: str
    path: Path          # resolved


def make_roots(paths: Iterable[str | os.PathLike]) -> list[Root]:
    """Roots for `paths` (resolved, duplicates dropped), each named by its base name, made unique."""
    out: list[Root] = []
    for p in paths:
        try:
            path = Path(p).expanduser().resolve()
        except (OSError, ValueError, RuntimeError):
            continue
        if any(r.path == path for r in out):
            continue
        base = path.name or "root"
        name, k = base, 2
        while any(r.name == name for r in out):
            name, k = f"{base}-{k}", k + 1
        out.append(Root(name, path))
    return out


def _configured(env: str, secret: str) -> list[str]:
    """Extra roots from an environment variable (os.pathsep-separated) and a Streamlit secret (a list)."""
    extra = [p for p in os.environ.get(env, "").split(os.pathsep) if p.strip()]
    try:
        import streamlit as st
        value = st.secrets.get(secret, [])
        extra += [str(v) for v in ([value] if isinstance(value, str) else value)]
    except Exception:          # no secrets file (the usual case), or not running under Streamlit
        pass
    return extra


def checkpoint_roots(default_checkpoint: Path | None = None) -> list[Root]:
    """The checkpoint roots (see the module docstring); `default_checkpoint`, the operator's choice, is
    always readable: its parent becomes a root when no root holds it."""
    paths: list[str | Path] = [ROOT / "checkpoints", ROOT / "runs"] + _configured(CHECKPOINT_ROOTS_ENV, "checkpoint_roots")
    roots = make_roots(paths)
    if default_checkpoint is not None and _inside(default_checkpoint.resolve(), roots) is None:
        roots = make_roots(paths + [default_checkpoint.resolve().parent])
    return roots


def data_roots() -> list[Root]:
    """The data roots (see the module docstring)."""
    return make_roots([ROOT.parent / "shared" / "data"] + _configured(DATA_ROOTS_ENV, "data_roots"))


def _inside(path: Path, roots: Sequence[Root]) -> Root | None:
    """The root that holds the resolved `path`, or None."""
    for r in roots:
        if path == r.path or r.path in path.parents:
            return r
    return None


def resolve(name: str, roots: Sequence[Root], what: str = "checkpoint") -> Path:
    """The resolved directory that `name` stands for: "<root name>/<path under it>", or an absolute path
    that lies under a root. Raises NotUnderRoots, with one message, when the name is malformed, leads
    outside every root (`..`, a symbolic link), or is not a readable directory."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME_CHARS or "\x00" in name:
        raise NotUnderRoots(name, what, roots)
    first, _, rest = name.replace("\\", "/").partition("/")
    root = next((r for r in roots if r.name == first), None)
    try:
        candidate = root.path / rest if root is not None else Path(name)
        if not candidate.is_absolute():
            raise NotUnderRoots(name, what, roots)
        path = candidate.resolve()
        if _inside(path, roots) is None or not path.is_dir() or not os.access(path, os.R_OK | os.X_OK):
            raise NotUnderRoots(name, what, roots)
    except (OSError, ValueError, RuntimeError):
        raise NotUnderRoots(name, what, roots) from None
    return path


def public_name(path: str | os.PathLike, roots: Sequence[Root]) -> str:
    """The root-relative name of `path` ("checkpoints/bowman-vae"); "(outside the roots)" for a path under
    none of them, so an absolute server path is never shown."""
    try:
        p = Path(path).resolve()
    except (OSError, ValueError, RuntimeError):
        return "(outside the roots)"
    r = _inside(p, roots)
    if r is None:
        return "(outside the roots)"
    rel = p.relative_to(r.path).as_posix()
    return r.name if rel == "." else f"{r.name}/{rel}"


def redact(message: str, path: str | os.PathLike, roots: Sequence[Root]) -> str:
    """`message` with the absolute `path` (and the paths of the roots) replaced by root-relative names."""
    for p in sorted({str(path), str(Path(path).resolve())}, key=len, reverse=True):
        message = message.replace(p, public_name(p, roots))
    for r in roots:
        message = message.replace(str(r.path), r.name)
    return message


def find_dirs_with(filename: str, roots: Sequence[Root]) -> list[Path]:
    """Directories under the roots that hold `filename`, found by a bounded walk: hidden directories
    (`.next`, `.git`) skipped, symbolic links not followed, at most MAX_WALK_DEPTH levels, MAX_WALK_DIRS
    directories and MAX_LISTED results, so a large or looping root cannot stall a page."""
    found: list[Path] = []
    visited = 0
    for r in roots:
        stack = [(r.path, 0)]
        while stack and visited < MAX_WALK_DIRS and len(found) < MAX_LISTED:
            d, depth = stack.pop()
            visited += 1
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            if any(e.name == filename and e.is_file(follow_symlinks=False) for e in entries):
                found.append(d)
            if depth < MAX_WALK_DEPTH:
                stack += [(Path(e.path), depth + 1) for e in reversed(entries)
                          if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    return found
