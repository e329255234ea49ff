"""Contact sheets: pictures in a grid, each with a caption above it."""
from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

PAD, LABEL = 6, 22  # pixels between pictures, and of the caption strip above each


def captioned_grid(pictures: Sequence[tuple[str, Image.Image]], columns: int) -> Image.Image:
    """One image: ``pictures`` (caption, image) left to right, ``columns`` per row, each centred in a cell as large
    as the largest picture (and wide enough for the longest caption), its caption above it."""
    if not pictures:
        raise ValueError("no pictures for the sheet")
    font = ImageFont.load_default(size=14)
    columns = max(1, min(columns, len(pictures)))
    cw = max(max(image.width, int(font.getlength(caption)) + 4) for caption, image in pictures)
    ch = max(image.height for _, image in pictures)
    rows = -(-len(pictures) // columns)
    sheet = Image.new("RGB", (columns * (cw + PAD) + PAD, rows * (ch + LABEL + PAD) + PAD), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (caption, image) in enumerate(pictures):
        row, col = divmod(n, columns)
        x, y = PAD + col * (cw + PAD), PAD + row * (ch + LABEL + PAD)
        draw.text((x + 2, y + 3), caption, fill="black", font=font)
        sheet.paste(image.convert("RGB"), (x + (cw - image.width) // 2, y + LABEL + (ch - image.height) // 2))
    return sheet
