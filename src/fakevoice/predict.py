"""Streaming batched inference from a run directory to a submission-style CSV.

Input is a contest folder (its ``test.csv``; output in ``sample_submission.csv`` order),
a plain folder of audio files (searched recursively; id = path relative to the folder)
or a list of files (id = the path as given). Files longer than a clip are scored window
by window (``fakevoice.audio.windows``) and the windows combined: the detector's
presence probabilities by their maximum (a fake voice anywhere makes the file fake), the
one-voice models' by their mean; shorter ones are zero-padded, exactly as in training.

Bad files never stop the run: they are listed in ``errors.csv`` (file, reason) beside the
output and left out of it (in a contest folder, where every id must be answered, they get
the training prior instead). ``strict`` turns any bad file into a failure. Results are
written in parts as they are made, so ``resume`` after a kill redoes only the last part.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fakevoice.atomic import atomic_open, atomic_write_text
from fakevoice.audio import is_audio_path
from fakevoice.dataset import load_contest, write_submission
from fakevoice.decoding import Clip, DecodePool, auto_workers, cut, decode_one
from fakevoice.errors import FakevoiceError, RunError
from fakevoice.features import FrontEnd
from fakevoice.holdpoint import hold_after
from fakevoice.models.common import torch_threads
from fakevoice.progress import progress
from fakevoice.runs import METRICS, MODEL, load_model, read_json, read_manifest

PARTS_FORMAT = 1
BACKENDS = ("torch", "onnx")


@dataclass
class Inputs:
    """What to score: ids and paths, and the row order of the output (contest folders)."""

    ids: list[str]
    paths: list[Path]
    order: list[str] | None = None
    contest: bool = False


def collect_inputs(inputs: Sequence[str | Path]) -> Inputs:
    """Resolve INPUT arguments: one contest folder, one plain folder, or files and folders."""
    if not inputs:
        raise FakevoiceError("no input given")
    if len(inputs) == 1 and Path(inputs[0]).is_dir() and (Path(inputs[0]) / "test.csv").is_file():
        data = load_contest(inputs[0], need=("test",), check_files=False)
        assert data.test is not None
        order = None
        if data.sample_submission is not None:
            order = list(data.sample_submission["id"])
        return Inputs(
            list(data.test["id"]), [Path(p) for p in data.test["path"]], order, contest=True
        )
    ids: list[str] = []
    paths: list[Path] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and is_audio_path(f))
            if not found and len(inputs) == 1:
                raise FakevoiceError(f"{p}: no audio files found (searched recursively)")
            single = len(inputs) == 1
            for f in found:
                rel = f.relative_to(p).as_posix()
                ids.append(rel if single else (Path(str(raw)) / rel).as_posix())
                paths.append(f)
        else:
            ids.append(str(raw))
            paths.append(p)
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise FakevoiceError(f"the same file is given twice: {', '.join(sorted(dup)[:5])}")
    return Inputs(ids, paths)


class Predictor:
    """A trained run, ready to score signals: (p_fake, p_real) per file.

    ``backend`` "onnx" runs the network through onnxruntime from ``onnx`` (default
    RUN/model.onnx, made by ``fakevoice export``); the front end, the voice-activity gate
    and the details of reports (embeddings, uncalibrated probabilities) stay in torch.
    ``workers`` decoding processes (None: one per core for large inputs, 0: none) decode
    files and run voice activity while this process batches the network.
    """

    def __init__(
        self,
        run: str | Path,
        batch_size: int = 64,
        *,
        backend: str = "torch",
        onnx: str | Path | None = None,
        workers: int | None = 0,
    ) -> None:
        if backend not in BACKENDS:
            raise FakevoiceError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.run = Path(run)
        self.model, self.cfg = load_model(self.run)
        self.front = FrontEnd(self.cfg.frontend)
        self.batch_size = max(1, int(batch_size))
        metrics = read_json(self.run / METRICS)
        # the gate as training chose it on the validation scenes; a run trained before that
        # choice existed gates unless configured off
        self.gate_used = bool(metrics.get("vad_gate_used", self.cfg.gate_mode != "off"))
        share = float(metrics.get("train_fake_share", 0.5))
        self.prior = (share, 1.0 - share)
        self.backend = backend
        self.workers = workers
        # With decoding workers on every core, more than one thread here only fights them.
        self.threads = 1 if workers else int(self.cfg.threads)
        self.onnx = None
        if backend == "onnx":
            from fakevoice.onnx_backend import ONNX_FILE, OnnxModel

            path = Path(onnx) if onnx is not None else self.run / ONNX_FILE
            self.onnx = OnnxModel(path, self.run, self.threads)
        self._pool: DecodePool | None = None

    @property
    def gated(self) -> bool:
        return self.gate_used and self.model.head == "presence"

    @torch.no_grad()
    def score_windows(self, waves: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(k, 2) probabilities of k windows of ``clip_samples`` with true lengths ``lengths``."""
        with torch_threads(self.threads):
            return self._score_windows(waves, lengths)["probs"]

    def _score_windows(
        self,
        waves: np.ndarray | None,
        lengths: np.ndarray,
        details: bool = False,
        scores: Sequence[float] | None = None,
        features: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Probabilities (and details) of windows, from ``waves`` or, when the decoding
        workers made them, from their ``features``; ``waves`` may then be None."""
        out: dict[str, list[np.ndarray]] = {"probs": [], "raw": [], "embedding": []}
        frames = self.cfg.frames
        for s in range(0, len(lengths), self.batch_size):
            if features is not None:
                x = torch.from_numpy(features[s : s + self.batch_size])
            else:
                x = self.front(torch.from_numpy(waves[s : s + self.batch_size]))[..., :frames]
            counted = [self.cfg.frontend.n_frames(int(k)) for k in lengths[s : s + self.batch_size]]
            n_valid = torch.from_numpy(np.minimum(frames, np.asarray(counted, dtype=np.int64)))
            if details:
                e = self.model.embed(x, n_valid)
                z = self.model.net.classify(e)
                out["raw"].append(self.model.probabilities(z, calibrated=False).numpy())
                out["embedding"].append(e.reshape(len(e), -1).numpy())
            if self.onnx is not None:
                out["probs"].append(self.onnx(x.numpy(), n_valid.numpy()))
            else:
                z = z if details else self.model(x, n_valid)
                out["probs"].append(self.model.probabilities(z).numpy())
        res = {k: np.concatenate(v).astype(np.float64) for k, v in out.items() if v}
        if self.gated:
            if scores is None:
                if waves is None:
                    raise ValueError("the gate needs the windows or their speech scores")
                scores = self.speech_scores(waves, lengths)
            for k in ("probs", "raw"):
                if k in res:
                    res[k] = self.gate(list(scores), res[k])
        return res

    def combine(self, probs: np.ndarray) -> np.ndarray:
        """A file's (p_fake, p_real) from its windows': the detector's presence by the
        maximum (a voice anywhere makes the file's), the one-voice models' by the mean."""
        return probs.max(axis=0) if self.model.head == "presence" else probs.mean(axis=0)

    def speech_scores(self, waves: np.ndarray, lengths: np.ndarray) -> list[float]:
        from fakevoice.vad import window_scores

        return window_scores(waves, lengths)

    def gate(self, scores: list[float], probs: np.ndarray) -> np.ndarray:
        """Windows in which voice activity finds no speech get both probabilities at most
        ``vad_floor`` (the 4th place of the contest set such clips to (0, 0))."""
        from fakevoice.vad import gate

        return gate(probs, scores, self.cfg.vad_threshold, self.cfg.vad_floor)

    def stream(self, paths: Sequence[Path]) -> Iterator[tuple[int, np.ndarray | None, str]]:
        """Yield (index, probabilities or None, reason) per file, batching windows of files."""
        for i, d, reason in self.describe(paths, details=False):
            yield i, (None if d is None else d["probs"]), reason

    def describe(
        self, paths: Sequence[Path], details: bool = True
    ) -> Iterator[tuple[int, dict[str, np.ndarray] | None, str]]:
        """Yield (index, {probs, raw, embedding} or None, reason) per file; the windows'
        embeddings are averaged, their probabilities combined as :meth:`combine` does."""
        return self.describe_clips(self.clips(paths), details)

    def decode(self, paths: Sequence[Path]) -> Iterator[tuple[int, np.ndarray | None, str]]:
        """(index, mono signal at the model's rate or None, reason) per file, in order."""
        for i, path in enumerate(paths):
            x, reason = decode_one(path, self.cfg.frontend.sample_rate)
            yield i, x, reason

    def clips(self, paths: Sequence[Path]) -> Iterator[Clip]:
        """Each file cut into windows, by the decoding workers when there are any."""
        if self.workers:
            if self._pool is None:
                self._pool = DecodePool(
                    self.workers,
                    self.cfg.frontend.sample_rate,
                    self.cfg.clip_samples,
                    self.gated,
                    self.cfg.frontend,
                    self.cfg.frames,
                )
            return self._pool.clips(paths)
        return self._cut(self.decode(paths))

    def _cut(self, signals: Iterable[tuple[int, np.ndarray | None, str]]) -> Iterator[Clip]:
        for i, x, reason in signals:
            yield Clip(i, None, None, reason) if x is None else cut(i, x, self.cfg.clip_samples)

    def close(self) -> None:
        """Stop the decoding workers (they are started again when needed)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def describe_signals(
        self, signals: Iterable[tuple[int, np.ndarray | None, str]], details: bool = True
    ) -> Iterator[tuple[int, dict[str, np.ndarray] | None, str]]:
        """:meth:`describe` over decoded signals (mono, at the model's sample rate)."""
        return self.describe_clips(self._cut(signals), details)

    def describe_clips(
        self, clips: Iterable[Clip], details: bool = True
    ) -> Iterator[tuple[int, dict[str, np.ndarray] | None, str]]:
        """:meth:`describe` over files already cut into windows."""
        pending: list[Clip] = []

        def flush() -> Iterator[tuple[int, dict[str, np.ndarray] | None, str]]:
            if not pending:
                return

            def joined(what: str) -> np.ndarray | None:
                parts = [getattr(c, what) for c in pending]
                return None if any(p is None for p in parts) else np.concatenate(parts)

            scores = joined("scores")
            with torch_threads(self.threads), torch.no_grad():
                res = self._score_windows(
                    joined("windows"),
                    joined("lengths"),
                    details=details,
                    scores=None if scores is None else scores.tolist(),
                    features=joined("features"),
                )
            at = 0
            for c in pending:
                mine = slice(at, at + len(c))
                at += len(c)
                d = {k: self.combine(v[mine]) for k, v in res.items() if k != "embedding"}
                if "embedding" in res:
                    d["embedding"] = res["embedding"][mine].mean(axis=0)
                if all(np.isfinite(v).all() for v in d.values()):
                    yield (
                        c.index,
                        {k: np.clip(v, 0.0, 1.0) if k != "embedding" else v for k, v in d.items()},
                        "",
                    )
                else:
                    yield c.index, None, "the model produced a non-finite probability"
            pending.clear()

        queued = 0
        for c in clips:
            if not c.ok:
                yield c.index, None, c.reason
                continue
            pending.append(c)
            queued += len(c)
            if queued >= self.batch_size:
                yield from flush()
                queued = 0
        yield from flush()


@dataclass
class PredictResult:
    written: Path | None
    n_ok: int
    errors: list[tuple[str, str]] = field(default_factory=list)
    filled: int = 0


def _fingerprint(run: Path, inputs: Inputs, chunk: int) -> str:
    h = hashlib.sha256()
    st = (run / MODEL).stat()
    h.update(f"{PARTS_FORMAT}\0{run.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{chunk}\n".encode())
    for i, p in zip(inputs.ids, inputs.paths, strict=True):
        h.update(f"{i}\0{p}\n".encode())
    return h.hexdigest()


def _parts_dir(out: Path) -> Path:
    return out.with_name(f".{out.name}.parts")


def predict(
    run: str | Path,
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    batch_size: int = 64,
    strict: bool = False,
    resume: bool = False,
    chunk: int = 256,
    backend: str = "torch",
    onnx: str | Path | None = None,
    workers: int | None = None,
) -> PredictResult:
    """Score ``inputs`` with the run's model and write ``out`` (id,fake,real).

    ``workers``: decoding processes (None: one per core when the input is large enough)."""
    out = Path(out)
    read_manifest(run)  # a missing or unfinished run is the first thing to say
    items = collect_inputs(inputs)
    predictor = Predictor(
        run, batch_size, backend=backend, onnx=onnx, workers=auto_workers(len(items.ids), workers)
    )
    try:
        return _predict(predictor, items, out, strict=strict, resume=resume, chunk=chunk)
    finally:
        predictor.close()


def _predict(
    predictor: Predictor, items: Inputs, out: Path, *, strict: bool, resume: bool, chunk: int
) -> PredictResult:
    parts = _parts_dir(out)
    fingerprint = _fingerprint(predictor.run, items, chunk)
    manifest = parts / "manifest.json"
    if parts.exists():
        same = manifest.is_file() and read_json(manifest).get("fingerprint") == fingerprint
        if resume and not same:
            raise RunError(
                f"{parts}: partial results from another run or input; rerun without --resume"
            )
        if not resume:
            shutil.rmtree(parts)
    try:
        parts.mkdir(parents=True, exist_ok=True)
        if not manifest.is_file():
            atomic_write_text(manifest, json.dumps({"fingerprint": fingerprint}) + "\n")
    except OSError as exc:
        raise FakevoiceError(f"{out}: cannot write: {exc.strerror}") from exc

    probs = np.full((len(items.ids), 2), np.nan)
    errors: dict[int, str] = {}
    n_chunks = (len(items.ids) + chunk - 1) // chunk
    bar = progress(total=len(items.ids), desc="predict", unit="file")

    def take(saved: dict) -> None:
        for k, v in saved["probs"].items():
            probs[int(k)] = v
        for k, reason in saved["errors"].items():
            errors[int(k)] = reason

    todo: list[int] = []
    for c in range(n_chunks):
        part = parts / f"part_{c:06d}.json"
        if part.is_file():
            take(read_json(part))
            bar.update(min(len(items.ids), (c + 1) * chunk) - c * chunk)
        else:
            todo.append(c)
    # One stream over every missing part, so the decoding workers never wait at a part's
    # end; results come in input order, so a part is complete when its last file is.
    where = [i for c in todo for i in range(c * chunk, min(len(items.ids), (c + 1) * chunk))]
    saved: dict = {"probs": {}, "errors": {}}
    done_in_part = 0
    for k, p, reason in predictor.stream([items.paths[i] for i in where]):
        i = where[k]
        if p is None:
            saved["errors"][str(i)] = reason
        else:
            saved["probs"][str(i)] = [float(p[0]), float(p[1])]
        done_in_part += 1
        c = i // chunk
        if done_in_part == min(len(items.ids), (c + 1) * chunk) - c * chunk:
            atomic_write_text(parts / f"part_{c:06d}.json", json.dumps(saved))
            take(saved)
            bar.update(done_in_part)
            hold_after("parts", c + 1)
            saved, done_in_part = {"probs": {}, "errors": {}}, 0
    bar.close()

    error_rows = [(str(items.paths[i]), errors[i]) for i in sorted(errors)]
    errors_csv = out.parent / "errors.csv"
    if error_rows or errors_csv.exists():
        with atomic_open(errors_csv, "w") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "reason"])
            w.writerows(error_rows)
    if strict and error_rows:
        raise FakevoiceError(
            f"{len(error_rows)} file(s) could not be scored, e.g. {error_rows[0][0]}: "
            f"{error_rows[0][1]} (all listed in {errors_csv})"
        )
    ok = np.isfinite(probs).all(axis=1)
    filled = 0
    if items.contest:
        probs[~ok] = predictor.prior
        filled = int((~ok).sum())
        keep = np.ones(len(ok), dtype=bool)
    else:
        keep = ok
    ids = [i for i, k in zip(items.ids, keep, strict=True) if k]
    write_submission(out, ids, probs[keep, 0], probs[keep, 1], order=items.order)
    shutil.rmtree(parts, ignore_errors=True)
    return PredictResult(out, int(ok.sum()), error_rows, filled)
