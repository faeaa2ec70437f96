"""One self-contained HTML page: images and audio inlined as data URIs, no script, no
link or font from anywhere, so the file opens offline and can be mailed as it is."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fakevoice.atomic import atomic_open

STYLE = (
    "body{font-family:sans-serif;max-width:78em;margin:auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;"
    "border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}"
    "th{background:#f3f3f3}img{max-width:100%}nav a{margin-right:1em}"
    ".gallery{display:flex;flex-wrap:wrap;gap:8px}.gallery figure{margin:0}"
    "figcaption{font-size:80%;color:#555}audio{height:28px;width:210px}"
    ".note{color:#555;font-size:90%}"
)
AUDIO_SECONDS = 10.0  # an embedded player holds at most this much of a file


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "n/a" if not np.isfinite(v) else f"{float(v):.4f}"
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'>"


def figure(path: Path, caption: str) -> str:
    return f"<figure>{img(path, caption)}<figcaption>{esc(caption)}</figcaption></figure>"


def audio(x: np.ndarray, sr: int) -> str:
    """An audio player holding the clip (its first ``AUDIO_SECONDS``) as Ogg Vorbis."""
    import soundfile as sf

    buf = io.BytesIO()
    clip = np.clip(np.asarray(x, np.float32)[: int(AUDIO_SECONDS * sr)], -1.0, 1.0)
    sf.write(buf, clip, sr, format="OGG", subtype="VORBIS")
    data = base64.b64encode(buf.getvalue()).decode()
    return f"<audio controls preload='none' src='data:audio/ogg;base64,{data}'></audio>"


def table(rows: Sequence[dict[str, Any]], cols: Sequence[str], raw: Sequence[str] = ()) -> str:
    """A table of ``rows``; the columns named in ``raw`` hold HTML already (img, audio)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = [r.get(c, "") if c in raw else esc(fmt(r.get(c, ""))) for c in cols]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


class Page:
    """Sections in order, each with an id the table of contents links to."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[tuple[str, str, list[str]]] = []

    def section(self, sid: str, heading: str) -> list[str]:
        parts: list[str] = []
        self.sections.append((sid, heading, parts))
        return parts

    def render(self) -> str:
        nav = "".join(f"<a href='#{esc(s)}'>{esc(h)}</a>" for s, h, _ in self.sections)
        body = "".join(
            f"<section id='{esc(s)}'><h2>{esc(h)}</h2>{''.join(parts)}</section>"
            for s, h, parts in self.sections
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{esc(self.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(self.title)}</h1><nav>{nav}</nav>{body}</body></html>\n"
        )

    def write(self, path: Path) -> Path:
        with atomic_open(path, "w") as fh:
            fh.write(self.render())
        return path
