"""Clips shown in a report: a spectrogram thumbnail and an audio player per file, in
galleries and in tables of examples."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.audio import load_audio
from fakevoice.errors import AudioError
from fakevoice.report import figures, page

THUMB_SR = 32000  # the contest's rate: the band above 8 kHz is where many cues live


class Clips:
    """Thumbnails written once per file into ``folder``, named by a running number."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, Path] = {}

    def _load(self, path: Path) -> np.ndarray | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return load_audio(path, THUMB_SR, max_seconds=page.AUDIO_SECONDS)
        except AudioError:
            return None

    def thumb(self, path: Path, title: str = "") -> tuple[str, str]:
        """(img HTML, audio HTML) of one file; a file that no longer decodes says so."""
        x = self._load(path)
        if x is None:
            return page.esc("(not decodable)"), ""
        key = str(path)
        if key not in self.made:
            png = self.folder / f"clip_{len(self.made):04d}.png"
            self.made[key] = figures.spectrogram_thumb(x, THUMB_SR, png, title)
        return page.img(self.made[key], title or Path(path).name), page.audio(x, THUMB_SR)

    def gallery(self, paths: Sequence[Path], captions: Sequence[str]) -> str:
        cells = []
        for p, cap in zip(paths, captions, strict=True):
            im, au = self.thumb(p)
            cells.append(f"<figure>{im}<figcaption>{page.esc(cap)}</figcaption>{au}</figure>")
        return "<div class='gallery'>" + "".join(cells) + "</div>"

    def rows(self, rows: list[dict[str, Any]], paths: Sequence[Path]) -> list[dict[str, Any]]:
        """``rows`` with ``spectrogram`` and ``audio`` cells added (HTML)."""
        out = []
        for r, p in zip(rows, paths, strict=True):
            im, au = self.thumb(p)
            out.append({**r, "spectrogram": im, "audio": au})
        return out
