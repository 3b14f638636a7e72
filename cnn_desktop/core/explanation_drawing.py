"""Drawing an explanation: the colour scale of a map, the map over the 28x28 image or over the original
picture, and the command line's PNG with title and legend (Pillow; no Qt)."""

from __future__ import annotations

import numpy as np

from cnn_desktop.core.explain import METHOD_TITLES, Explanation, as_image_batch

# Colour scale: transparent where there is no evidence, then orange to deep red; blue for negative values.
POSITIVE_COLOUR_STOPS = ((0.0, (255, 255, 178)), (0.35, (254, 178, 76)), (0.7, (240, 59, 32)), (1.0, (189, 0, 38)))
NEGATIVE_COLOUR_STOPS = ((0.0, (222, 235, 247)), (0.5, (107, 174, 214)), (1.0, (8, 69, 148)))


def _colour_scale(values: np.ndarray, stops) -> np.ndarray:
    positions = np.array([position for position, _ in stops])
    colours = np.array([colour for _, colour in stops], dtype=np.float64)
    return np.stack([np.interp(values, positions, colours[:, channel]) for channel in range(3)], axis=-1)


def heat_rgba(heatmap: np.ndarray, signed: bool = False, opacity: float = 0.75) -> np.ndarray:
    """A map -> (H, W, 4) uint8 RGBA: red for evidence for the class (blue against, when signed);
    alpha grows with |value| so weak evidence lets the picture show through."""
    values = np.nan_to_num(np.asarray(heatmap, dtype=np.float64))
    values = np.clip(values, -1.0 if signed else 0.0, 1.0)
    magnitude = np.abs(values)
    rgb = np.where((values >= 0)[..., None], _colour_scale(magnitude, POSITIVE_COLOUR_STOPS),
                   _colour_scale(magnitude, NEGATIVE_COLOUR_STOPS))
    alpha = np.clip(opacity, 0, 1) * 255 * magnitude
    return np.concatenate([rgb, alpha[..., None]], axis=-1).round().astype(np.uint8)


def render_overlay(image: np.ndarray, heatmap: np.ndarray, signed: bool = False, opacity: float = 0.75,
                   size: int = 280):
    """The 28x28 image (grey, as the network saw it) with the map over it, as a ``size``-pixel RGBA PIL image."""
    from PIL import Image

    picture = np.round(as_image_batch(image)[0, ..., 0] * 255).astype(np.uint8)
    base = Image.fromarray(picture, mode="L").resize((size, size), Image.Resampling.NEAREST).convert("RGBA")
    heat = Image.fromarray(heat_rgba(heatmap, signed, opacity), mode="RGBA")
    heat = heat.resize((size, size), Image.Resampling.BILINEAR)
    return Image.alpha_composite(base, heat)


def frame_box(prepared, shown_size: tuple[int, int] | None = None) -> tuple[float, float, float, float]:
    """Where the 28x28 frame lies on the picture a ``PreparedImage`` came from: (left, top, right, bottom).

    The frame is the square around the item (``prepared.bbox``), centred as ``fit_to_frame`` centres it; it
    may reach past the picture's edges. Coordinates are the picture's (``prepared.picture_size``), or those
    of the picture shown at ``shown_size``.
    """
    left, top, right, bottom = prepared.bbox
    width, height = right - left, bottom - top
    side = max(width, height)
    frame_left, frame_top = left - (side - width + 1) // 2, top - (side - height + 1) // 2
    scale = 1.0
    if shown_size is not None and prepared.picture_size:
        scale = shown_size[0] / prepared.picture_size[0]
    return (frame_left * scale, frame_top * scale, (frame_left + side) * scale, (frame_top + side) * scale)


def overlay_on_picture(picture, heatmap: np.ndarray, prepared, signed: bool = False, opacity: float = 0.75):
    """The map laid over the original picture (a PIL image as shown, any size) where the network saw the
    item: an RGBA PIL image of the picture's size. ``prepared`` is the picture's ``PreparedImage``."""
    from PIL import Image

    base = picture.convert("RGBA")
    left, top, right, bottom = frame_box(prepared, base.size)
    side = max(1, int(round(right - left)))
    heat = Image.fromarray(heat_rgba(heatmap, signed, opacity), mode="RGBA").resize(
        (side, side), Image.Resampling.BILINEAR)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    layer.paste(heat, (int(round(left)), int(round(top))))  # paste clips what lies past the edges
    return Image.alpha_composite(base, layer)


def _wrap(draw, text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_explanation_png(image: np.ndarray, explanation: Explanation, size: int = 280):
    """The overlay with a title above, and a colour bar and its legend below, for the command line's PNG."""
    from PIL import Image, ImageDraw

    overlay = render_overlay(image, explanation.heatmap, explanation.signed, size=size)
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    title = (f"{METHOD_TITLES[explanation.method]}: {explanation.class_name} "
             f"({explanation.probabilities[explanation.class_index]:.0%})"
             + (f", layer {explanation.layer}" if explanation.layer else "")
             + ("" if explanation.complete else " (stopped early)"))
    title_lines = _wrap(measure, title, size - 8)
    legend_lines = _wrap(measure, explanation.legend(), size - 8)
    line_height, bar_height, margin = 14, 14, 4
    top = margin + line_height * len(title_lines)
    height = top + size + margin + bar_height + margin + line_height * len(legend_lines) + margin
    canvas = Image.new("RGBA", (size, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for number, line in enumerate(title_lines):
        draw.text((margin, margin + number * line_height), line, fill=(0, 0, 0, 255))
    canvas.alpha_composite(overlay, (0, top))
    ramp = np.linspace(-1.0 if explanation.signed else 0.0, 1.0, size)[None, :].repeat(bar_height, axis=0)
    bar = Image.fromarray(heat_rgba(ramp, explanation.signed, opacity=1.0), mode="RGBA")
    canvas.alpha_composite(bar, (0, top + size + margin))
    legend_top = top + size + 2 * margin + bar_height
    for number, line in enumerate(legend_lines):
        draw.text((margin, legend_top + number * line_height), line, fill=(0, 0, 0, 255))
    return canvas
