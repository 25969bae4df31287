"""Camera pictures for Chromium's fake webcam: a barcode on white paper, as a one-frame Y4M.

Chromium loops a one-frame file (`--use-file-for-fake-video-capture`), so the page sees the
barcode held steadily in front of the camera.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zxingcpp

WIDTH, HEIGHT = 1280, 720


def barcode_image(
    text: str, barcode_format: zxingcpp.BarcodeFormat, scale: int, *, gs1: bool = True
) -> np.ndarray:
    """A barcode as 8-bit grey pixels: by default GS1, of the bracketed element string
    `text`; with `gs1=False` plain, of `text` as it is (a location label's Code 128)."""
    barcode = zxingcpp.create_barcode(text, barcode_format, gs1=gs1)
    return np.asarray(barcode.to_image(scale=scale), dtype=np.uint8)


def write_y4m(path: Path, picture: np.ndarray) -> Path:
    """Write `picture` (grey, at most 1280x720) centred on a white 1280x720 frame."""
    height, width = picture.shape
    assert width <= WIDTH and height <= HEIGHT, f"{width}x{height} does not fit the frame"
    luma = np.full((HEIGHT, WIDTH), 255, dtype=np.uint8)
    top, left = (HEIGHT - height) // 2, (WIDTH - width) // 2
    luma[top : top + height, left : left + width] = picture
    chroma = np.full((HEIGHT // 2, WIDTH // 2), 128, dtype=np.uint8)
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes())
    return path
