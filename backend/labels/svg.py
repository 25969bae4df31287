"""A label as SVG: millimetre units, crisp modules, white background."""

from __future__ import annotations

from xml.sax.saxutils import escape

from backend.labels.drawing import Drawing

__all__ = ["svg"]

_FONTS = "DejaVu Sans, Helvetica, Arial, sans-serif"


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def svg(drawing: Drawing) -> str:
    """The drawing as a standalone SVG document sized in mm."""
    width, height = _mm(drawing.width), _mm(drawing.height)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        '<g fill="#000">',
    ]
    parts.extend(
        f'<rect x="{_mm(r.x)}" y="{_mm(r.y)}" width="{_mm(r.width)}" height="{_mm(r.height)}"/>'
        for r in drawing.rects
    )
    parts.append("</g>")
    for t in drawing.texts:
        weight = ' font-weight="bold"' if t.bold else ""
        parts.append(
            f'<text x="{_mm(t.x)}" y="{_mm(t.y)}" font-family="{_FONTS}" '
            f'font-size="{_mm(t.size)}"{weight}>{escape(t.text)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
