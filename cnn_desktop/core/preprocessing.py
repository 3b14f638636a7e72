"""Turning any picture into the 28x28 image the network expects.

Fashion-MNIST items are light on a black background, trimmed to the item,
scaled so that the longer side fills the 28-pixel frame, and centred. Every
input (a canvas drawing, a photo, a scan) is brought into that same domain:

1. decode (any Pillow format, EXIF orientation, first frame of an animation,
   16-bit, palette, CMYK, transparency) into colour, grey levels and an alpha mask;
2. find the item:
   - with transparency, the opaque part is the item;
   - a drawing (the canvas) is strokes on a plain background: the border's median
     is the background, and a light background is inverted (``prepare_pixels``);
   - a photo (a file, a pasted or dropped picture) may have any background: the item
     is cut out by GrabCut (``segmentation.find_item``) and shaded by its own
     brightness, so that a white item on a light table keeps its body;
3. crop to the item, pad to a square around its centre, resize to 28x28.

The result also says where the item was found in the picture (its outlines and box,
in the picture's own pixel coordinates) so that a window can draw them over it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_desktop import config
from cnn_desktop.core import segmentation
from cnn_desktop.core.safe_files import UnsafeFileError, check_regular_file

log = logging.getLogger(__name__)

# Larger images are refused before they are decoded (20,000 x 20,000 px would need 1.6 GB).
MAX_IMAGE_PIXELS = 64_000_000
# Photos (files, pasted pictures) further to this: the network sees 28x28, and an item filling a tenth of
# the picture's width is still twice that here; GrabCut then runs on a smaller copy still.
PHOTO_SIZE = 640
# An item must stand out from its background by this much (on a 0-1 scale) to count.
MIN_CONTRAST = 0.08
# Pixels below this fraction of the item's peak brightness are treated as background when cropping.
CROP_THRESHOLD = 0.01
# Rows / columns with fewer item pixels than this share of the item are stray specks, not the item.
SPECK_SHARE = 0.0005
# Inside an item cut out of a photo, its faintest part is shown at this share of its brightest, so the
# item's body survives whatever its colour against the background (0.0-0.4 scored alike on photo composites of held-out training images; 0.6+ lost 5-10 points on patterned backgrounds).
ITEM_FLOOR = 0.2
SUPPORTED_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")


class ImageError(ValueError):
    """An image cannot be used; the message is meant for the user."""


class EmptyImageError(ImageError):
    """The image holds nothing to classify (blank, or a uniform colour)."""


@dataclass(frozen=True)
class PreparedImage:
    """The network's input and where the item was found in the picture it came from."""

    image: np.ndarray  # (28, 28) float32 in [0, 1], light item on black
    inverted: bool  # whether the item was darker than its background (its brightness was flipped)
    bbox: tuple[int, int, int, int]  # (left, top, right, bottom) of the item, in picture coordinates
    # How the item was found: "threshold" (plain background: drawings), "alpha" (transparency),
    # "segmentation" (GrabCut on a photo).
    method: str = "threshold"
    # (width, height) of the picture that ``bbox`` and ``outlines`` refer to: a file's full size as a
    # viewer shows it (after EXIF orientation), or the given array's size.
    picture_size: tuple[int, int] | None = None
    # The found item's outer outlines: (N, 2) float32 arrays of (x, y) in picture coordinates.
    outlines: tuple[np.ndarray, ...] = ()

    @property
    def as_uint8(self) -> np.ndarray:
        return np.round(self.image * 255).astype(np.uint8)


@dataclass(frozen=True)
class Picture:
    """A decoded picture, reduced to at most PHOTO_SIZE pixels on its longer side."""

    rgb: np.ndarray  # (H, W, 3) uint8
    gray: np.ndarray  # (H, W) float32 in [0, 1]
    alpha: np.ndarray | None  # (H, W) float32 in [0, 1], or None when fully opaque
    size: tuple[int, int]  # (width, height) of the full picture, as shown (after EXIF orientation)

    def rgba(self) -> np.ndarray:
        """(H, W, 4) uint8: the colours with the opacity (opaque where the picture has no alpha)."""
        opacity = np.full(self.gray.shape, 255, np.uint8) if self.alpha is None else \
            np.round(self.alpha * 255).astype(np.uint8)
        return np.ascontiguousarray(np.dstack([self.rgb, opacity]))

    @property
    def scale(self) -> tuple[float, float]:
        """Factors from working pixels to the full picture's pixels (x, y)."""
        height, width = self.gray.shape
        return self.size[0] / width, self.size[1] / height


def _describe(path: Path) -> str:
    return f"“{path.name}”"


def open_image(path: Path | str) -> Image.Image:
    """Open an image file safely; raise ImageError with a clear message for anything unusable."""
    path = Path(path)
    name = _describe(path)
    if path.is_dir():
        raise ImageError(f"{name} is a folder, not an image file")
    try:
        # A FIFO would block the open, /dev/zero would never end: only regular files (issue 13).
        size = check_regular_file(path, label=name).st_size
    except UnsafeFileError as exc:
        raise ImageError(str(exc)) from None
    try:
        if size == 0:
            raise ImageError(f"{name} is empty (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                image.close()
                raise ImageError(
                    f"{name} is too large ({width:,} x {height:,} pixels); the limit is "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels")
            image.info["original_size"] = (width, height)  # before draft() reduces it
            if image.format == "JPEG":
                # Let the JPEG decoder scale down while decoding: far less memory and time.
                image.draft(image.mode, (PHOTO_SIZE, PHOTO_SIZE))
            image.load()
    except ImageError:
        raise
    except PermissionError:
        raise ImageError(f"{name} cannot be read: permission denied") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is too large to open safely (a possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image that can be read (damaged, or not an image format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name} cannot be read: the file is damaged or truncated ({exc})") from None
    return image


def decode_picture(image: Image.Image) -> Picture:
    """Colour, grey and alpha of a Pillow image, upright (EXIF) and reduced to the working size."""
    size = image.info.get("original_size", image.size)
    before = image.size
    try:
        image = ImageOps.exif_transpose(image) or image
    except Exception:  # a damaged EXIF block is no reason to refuse the picture
        log.debug("ignoring unreadable EXIF orientation", exc_info=True)
    if image.size != before and image.size == before[::-1]:
        size = size[::-1]  # rotated by a quarter turn
    sixteen_bit = image.mode.startswith("I;16")
    if max(image.size) > PHOTO_SIZE:
        # Pillow reduces 32-bit integer pictures but refuses 16-bit ones ("image has wrong mode").
        image = image.convert("I") if sixteen_bit else image.copy()
        image.thumbnail((PHOTO_SIZE, PHOTO_SIZE), Image.Resampling.BOX)

    mode = image.mode
    alpha = None
    gray = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) > 255 or sixteen_bit else 255.0
        gray = np.clip(values / top, 0, 1).astype(np.float32)
    elif mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = np.nanmin(values), np.nanmax(values)
        gray = (np.zeros_like(values) if high <= low else (values - low) / (high - low)).astype(np.float32)
    if gray is not None:
        rgb = np.repeat(np.round(gray * 255).astype(np.uint8)[..., np.newaxis], 3, axis=-1)
        return Picture(rgb, gray, None, tuple(size))
    if mode in ("P", "PA"):
        image = image.convert("RGBA" if ("transparency" in image.info or mode == "PA") else "RGB")
    elif mode in ("RGBa", "La"):
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # 1, CMYK, YCbCr, LAB, HSV ...
    if image.mode in ("LA", "RGBA"):
        alpha = np.asarray(image.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() >= 0.99:
            alpha = None
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0  # the same weights as Pillow's "L"
    return Picture(rgb, gray, alpha, tuple(size))


def image_to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey levels (H, W) in [0, 1] and alpha (H, W) in [0, 1] or None when fully opaque."""
    picture = decode_picture(image)
    return picture.gray, picture.alpha


def pixels_to_picture(pixels: np.ndarray) -> Picture:
    """A bitmap (H, W[, 3|4]) uint8, e.g. a pasted picture, as a Picture (no reduction)."""
    gray, alpha = rgba_to_arrays(pixels)
    pixels = np.asarray(pixels)
    rgb = np.repeat(pixels[..., np.newaxis], 3, axis=-1) if pixels.ndim == 2 else pixels[..., :3]
    height, width = gray.shape
    return Picture(np.ascontiguousarray(rgb, dtype=np.uint8), gray, alpha, (width, height))


def rgba_to_arrays(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey + alpha from an (H, W), (H, W, 3) or (H, W, 4) uint8 array (e.g. a canvas)."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        return pixels.astype(np.float32) / 255.0, None
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        rgb = pixels[..., :3].astype(np.float32) / 255.0
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        alpha = None
        if pixels.shape[2] == 4:
            alpha = pixels[..., 3].astype(np.float32) / 255.0
            if alpha.min() >= 0.99:
                alpha = None
        return gray, alpha
    raise ImageError(f"expected a grey, RGB or RGBA image array, got shape {pixels.shape}")


def _border(values: np.ndarray) -> np.ndarray:
    height, width = values.shape
    band = max(1, min(height, width) // 50)
    return np.concatenate([
        values[:band].ravel(), values[-band:].ravel(), values[:, :band].ravel(), values[:, -band:].ravel(),
    ])


def foreground(gray: np.ndarray, alpha: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """The item's brightness over a zero background, and whether the polarity was inverted."""
    if alpha is not None and float(alpha.max()) > 0 and float(alpha.max() - alpha.min()) < MIN_CONTRAST:
        alpha = None  # a uniform transparency outlines nothing: judge the picture by its grey levels (issue 13)
    if alpha is not None and float(alpha.max()) > 0:
        weight = alpha.sum()
        item_level = float((gray * alpha).sum() / weight) if weight > 0 else 0.0
        inverted = item_level < 0.5
        return ((1.0 - gray) if inverted else gray) * alpha, inverted
    if alpha is not None:
        return np.zeros_like(gray), False  # fully transparent
    border = _border(gray)
    background = float(np.median(border))
    inverted = background > 0.5
    signal = (background - gray) if inverted else (gray - background)
    signal = np.clip(signal, 0, None)
    # Texture and JPEG noise in the background, from the border's spread around its median
    # (a median absolute deviation: items that touch the border do not inflate it).
    spread = float(np.median(np.abs(border - background)))
    noise_floor = 3.0 * 1.4826 * spread
    return np.clip(signal - noise_floor, 0, None), inverted


def fit_to_frame(signal: np.ndarray, size: int = config.IMAGE_SIZE) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Crop to the item, centre it in a square and resize so its longer side fills ``size`` pixels."""
    peak = float(signal.max())
    mask = signal > CROP_THRESHOLD * peak
    min_count = SPECK_SHARE * mask.sum()
    rows = np.flatnonzero(mask.sum(axis=1) > min_count)
    cols = np.flatnonzero(mask.sum(axis=0) > min_count)
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = signal[top:bottom, left:right]
    height, width = crop.shape
    side = max(height, width)
    square = np.zeros((side, side), dtype=np.float32)
    # Odd margins go to the top / left, as in Fashion-MNIST itself.
    y0, x0 = (side - height + 1) // 2, (side - width + 1) // 2
    square[y0:y0 + height, x0:x0 + width] = crop
    resized = Image.fromarray(square, mode="F").resize((size, size), Image.Resampling.LANCZOS if side > size else Image.Resampling.BILINEAR)
    result = np.clip(np.asarray(resized, dtype=np.float32), 0, None)
    return result, (int(left), int(top), int(right), int(bottom))


NOTHING_TO_CLASSIFY = "There is nothing to classify: the image is blank or a single colour"


def _framed(signal: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The item's signal (zero background) -> the 28x28 input and the item's box in signal pixels."""
    if float(signal.max()) < MIN_CONTRAST:
        raise EmptyImageError(NOTHING_TO_CLASSIFY)
    frame, bbox = fit_to_frame(signal)
    # Bring the item's brightest parts to full white, as in the dataset (robust to a few hot pixels).
    peak = float(np.percentile(frame[frame > 0], 99)) if np.any(frame > 0) else 0.0
    if peak <= 0:
        raise EmptyImageError(NOTHING_TO_CLASSIFY)
    return np.clip(frame / peak, 0, 1).astype(np.float32), bbox


def prepare_arrays(gray: np.ndarray, alpha: np.ndarray | None = None) -> PreparedImage:
    """Grey (+ alpha) of any size, an item on a plain background -> the 28x28 model input."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError(f"expected a 2-D grey image, got shape {gray.shape}")
    signal, inverted = foreground(gray, alpha)
    image, bbox = _framed(signal)
    height, width = gray.shape
    return PreparedImage(image, inverted, bbox, picture_size=(width, height))


def item_signal(gray: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, bool]:
    """The item's brightness inside its mask over a zero background, and whether it was flipped.

    An item darker than what is around it is flipped (dark cloth on a light wall comes out
    light, as in the dataset); a lighter one is kept. Inside the mask the item's own shading
    is stretched to [ITEM_FLOOR, 1]: its shape never fades into the background, however close
    its colour, and its seams and folds still show.
    """
    # Levels from every other pixel in each direction: the same medians for a quarter of the work.
    sample_gray, inside = gray[::2, ::2], mask[::2, ::2] >= 0.5
    if not inside.any():
        sample_gray, inside = gray, mask >= 0.5
    outside = ~inside
    item_level = float(np.median(sample_gray[inside]))
    background = float(np.median(sample_gray[outside])) if outside.any() else 1.0 - item_level
    inverted = item_level < background
    intensity = (1.0 - gray) if inverted else gray
    low, high = np.percentile((1.0 - sample_gray[inside]) if inverted else sample_gray[inside], (1, 99))
    shade = np.clip((intensity - low) / max(float(high - low), MIN_CONTRAST), 0, 1)
    return (mask * (ITEM_FLOOR + (1 - ITEM_FLOOR) * shade)).astype(np.float32), bool(inverted)


def colour_foreground(rgb: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """How far each pixel's colour is from the border's median colour, above the border's own spread.

    The last resort for a photo GrabCut could not cut: any colour difference counts, so an item that
    is neither lighter nor darker than its background still shows (as a light item on black).
    """
    values = rgb.astype(np.float32) / 255.0
    border = np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])
    background = np.median(border, axis=0)
    distance = np.abs(values - background).max(axis=-1)
    spread = float(np.median(np.abs(border - background).max(axis=-1)))
    signal = np.clip(distance - 2.0 * spread, 0, None)
    inside = signal > 0
    inverted = bool(inside.any() and float(np.median(gray[inside])) < float(np.median(_border(gray))))
    return signal, inverted


def _in_picture(bbox: tuple[int, int, int, int], scale: tuple[float, float]) -> tuple[int, int, int, int]:
    left, top, right, bottom = bbox
    return (int(np.floor(left * scale[0])), int(np.floor(top * scale[1])),
            int(np.ceil(right * scale[0])), int(np.ceil(bottom * scale[1])))


def has_contrast(small_rgb: np.ndarray) -> bool:
    """Whether anything in a picture differs from its border's colour by at least MIN_CONTRAST.

    Judged on a reduced copy (``segmentation.reduced``), whose averaging keeps JPEG noise and
    sensor grain from counting.
    """
    small = small_rgb.astype(np.float32) / 255.0
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    difference = np.abs(small - np.median(border, axis=0)).max(axis=-1)
    return float(difference.max()) >= MIN_CONTRAST


def prepare_picture(picture: Picture) -> PreparedImage:
    """A photo (any background) -> the 28x28 model input, with the item's outline in the picture."""
    gray, alpha, scale = picture.gray, picture.alpha, picture.scale
    if alpha is not None and float(alpha.max() - alpha.min()) >= MIN_CONTRAST:
        signal, inverted = foreground(gray, alpha)  # a cut-out: the opaque part is the item
        image, bbox = _framed(signal)
        return PreparedImage(image, inverted, _in_picture(bbox, scale), "alpha", picture.size,
                             segmentation.outlines(alpha, *scale))
    small = segmentation.reduced(picture.rgb)
    if not has_contrast(small):
        raise EmptyImageError(NOTHING_TO_CLASSIFY)
    mask = segmentation.find_item(picture.rgb, small)
    if mask is None:
        # No item GrabCut could separate: the plain-background rule on grey levels, as for drawings,
        # and if that sees nothing, on colour (a red item on a green wall of the same brightness).
        for rule in (foreground, lambda _gray: colour_foreground(picture.rgb, _gray)):
            signal, inverted = rule(gray)
            try:
                image, bbox = _framed(signal)
            except EmptyImageError:
                continue
            outline_mask = signal > CROP_THRESHOLD * float(signal.max())
            return PreparedImage(image, inverted, _in_picture(bbox, scale), "threshold", picture.size,
                                 segmentation.outlines(outline_mask, *scale))
        raise EmptyImageError(NOTHING_TO_CLASSIFY)
    signal, inverted = item_signal(gray, mask)
    image, bbox = _framed(signal)
    return PreparedImage(image, inverted, _in_picture(bbox, scale), "segmentation", picture.size,
                         segmentation.outlines(mask, *scale))


def prepare_image(image: Image.Image) -> PreparedImage:
    """A photo as a Pillow image -> the 28x28 model input (see prepare_picture)."""
    return prepare_picture(decode_picture(image))


def read_picture_file(path: Path | str) -> tuple[PreparedImage, Picture]:
    """The 28x28 model input and the picture it was found in (upright, reduced), from one decoding of the
    file. Raises ImageError with a message for the user."""
    image = open_image(path)
    try:
        picture = decode_picture(image)
    except (OSError, ValueError, MemoryError) as exc:
        raise ImageError(f"{_describe(Path(path))} cannot be used: {exc}") from None
    finally:
        image.close()
    return prepare_picture(picture), picture


def prepare_file(path: Path | str) -> PreparedImage:
    """Any image file -> 28x28 model input. Raises ImageError with a message for the user."""
    return read_picture_file(path)[0]


def prepare_pixels(pixels: np.ndarray, *, photo: bool = False) -> PreparedImage:
    """A canvas or clipboard bitmap (H, W[, 3|4]) uint8 -> 28x28 model input.

    ``photo=False`` (a drawing on the canvas): the plain-background rule, fast and exact for
    strokes. ``photo=True`` (a pasted or dropped picture): found by segmentation, as for files.
    """
    if photo:
        return prepare_picture(pixels_to_picture(pixels))
    return prepare_arrays(*rgba_to_arrays(pixels))
