"""Preprocessing real images of every common kind into the dataset's 28x28 domain."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnn_desktop.core.preprocessing import (
    EmptyImageError, ImageError, prepare_arrays, prepare_file, prepare_pixels,
)

TROUSER_INDEX = 2  # test image #2 is a clear trouser
SNEAKER_INDEX = 9


def _correlation(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def render_dark_on_white(item_uint8, size=300, item_size=160, offset=(20, 110)):
    """A dataset item as a person would photograph it: dark on white, larger, off centre."""
    item = Image.fromarray(255 - item_uint8).resize((item_size, item_size), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (size, size), 255)
    canvas.paste(item, offset)
    return canvas


def test_dataset_image_round_trips_to_nearly_itself(dataset):
    correlations = [_correlation(prepare_arrays(img / 255.0).image, img / 255.0) for img in dataset.test_images[:300]]
    assert np.median(correlations) > 0.99
    clean = dataset.test_images[TROUSER_INDEX] / 255.0
    assert _correlation(prepare_arrays(clean).image, clean) > 0.95


def test_rendered_dark_on_white_off_centre_comes_back_to_the_original(dataset):
    correlations = []
    for img in dataset.test_images[:200]:
        prepared = prepare_pixels(np.asarray(render_dark_on_white(img)))
        assert prepared.inverted
        correlations.append(_correlation(prepared.image, img / 255.0))
    assert np.median(correlations) > 0.93


def test_rendered_item_is_classified_like_the_original(default_model, dataset):
    from cnn_desktop.core.inference import Classifier

    classifier = Classifier(default_model)
    agree = 0
    count = 100
    for img in dataset.test_images[:count]:
        original = classifier.classify(img).index
        rendered = classifier.classify(prepare_pixels(np.asarray(render_dark_on_white(img))).image).index
        agree += original == rendered
    assert agree >= 0.9 * count
    trouser = prepare_pixels(np.asarray(render_dark_on_white(dataset.test_images[TROUSER_INDEX]))).image
    assert classifier.classify(trouser).label == "Trouser"


def test_light_item_on_dark_background_is_not_inverted(dataset):
    item = Image.fromarray(dataset.test_images[SNEAKER_INDEX]).resize((120, 120))
    canvas = Image.new("L", (400, 250), 20)
    canvas.paste(item, (250, 100))
    prepared = prepare_pixels(np.asarray(canvas))
    assert not prepared.inverted
    assert _correlation(prepared.image, dataset.test_images[SNEAKER_INDEX] / 255.0) > 0.9


def test_item_with_wide_margin_fills_the_frame_like_the_dataset(dataset):
    canvas = render_dark_on_white(dataset.test_images[TROUSER_INDEX], size=1000, item_size=80, offset=(700, 50))
    image = prepare_pixels(np.asarray(canvas)).image
    rows = np.flatnonzero(image.max(axis=1) > 0.2)
    assert rows[0] <= 1 and rows[-1] >= 26  # a trouser is tall: top to bottom of the frame


def test_noisy_photo_background_is_cleaned(dataset):
    rng = np.random.default_rng(0)
    canvas = np.asarray(render_dark_on_white(dataset.test_images[TROUSER_INDEX]), dtype=np.float32)
    noisy = np.clip(canvas * 0.8 + 30 + rng.normal(0, 6, canvas.shape), 0, 255).astype(np.uint8)  # grey paper
    prepared = prepare_pixels(noisy)
    assert _correlation(prepared.image, dataset.test_images[TROUSER_INDEX] / 255.0) > 0.9


def _save(image: Image.Image, path, **kwargs):
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("suffix, mode, kwargs", [
    (".png", "L", {}),
    (".png", "RGB", {}),
    (".jpg", "RGB", {"quality": 85}),
    (".jpg", "L", {}),
    (".bmp", "RGB", {}),
    (".gif", "P", {}),
    (".webp", "RGB", {}),
    (".tiff", "RGB", {}),
    (".tif", "L", {}),
])
def test_common_formats_give_the_same_image(tmp_path, dataset, suffix, mode, kwargs):
    source = render_dark_on_white(dataset.test_images[TROUSER_INDEX])
    path = _save(source.convert(mode), tmp_path / f"item{suffix}", **kwargs)
    reference = prepare_pixels(np.asarray(source)).image
    lossy = suffix in (".jpg", ".webp")  # compression ringing shifts faint edge pixels
    assert _correlation(prepare_file(path).image, reference) > (0.93 if lossy else 0.97)


def test_sixteen_bit_png(tmp_path, dataset):
    source = np.asarray(render_dark_on_white(dataset.test_images[TROUSER_INDEX]), dtype=np.uint16) * 257
    path = tmp_path / "deep.png"
    Image.fromarray(source).save(path)
    assert Image.open(path).mode.startswith("I")
    reference = prepare_pixels(np.asarray(render_dark_on_white(dataset.test_images[TROUSER_INDEX]))).image
    assert _correlation(prepare_file(path).image, reference) > 0.97


def test_transparent_png_uses_the_opaque_item(tmp_path, dataset):
    item = dataset.test_images[SNEAKER_INDEX]
    big = np.asarray(Image.fromarray(item).resize((140, 140)))
    rgba = np.zeros((200, 200, 4), np.uint8)
    rgba[30:170, 40:180, :3] = 40  # a dark item ...
    rgba[30:170, 40:180, 3] = big  # ... whose shape is in the alpha channel, on a transparent background
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert _correlation(prepare_file(path).image, item / 255.0) > 0.9


def test_palette_png_with_transparency(tmp_path, dataset):
    rgba = Image.fromarray(np.asarray(render_dark_on_white(dataset.test_images[TROUSER_INDEX]))).convert("RGBA")
    palette = rgba.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.info["transparency"] = 0
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)
    prepared = prepare_file(path)
    assert prepared.image.shape == (28, 28)


def test_exif_orientation_is_applied(tmp_path, dataset):
    upright = render_dark_on_white(dataset.test_images[TROUSER_INDEX]).convert("RGB")
    # Store the picture rotated, with an EXIF tag telling viewers to rotate it back (orientation 6: 90° CW).
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif.tobytes(), quality=95)
    reference = prepare_pixels(np.asarray(upright)).image
    assert _correlation(prepare_file(path).image, reference) > 0.95


def test_cmyk_jpeg(tmp_path, dataset):
    path = _save(render_dark_on_white(dataset.test_images[TROUSER_INDEX]).convert("CMYK"), tmp_path / "print.jpg")
    assert Image.open(path).mode == "CMYK"
    assert prepare_file(path).image.shape == (28, 28)


def test_animated_gif_uses_the_first_frame(tmp_path, dataset):
    frames = [render_dark_on_white(dataset.test_images[i]).convert("P") for i in (TROUSER_INDEX, SNEAKER_INDEX)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    first = prepare_pixels(np.asarray(frames[0].convert("L"))).image
    assert _correlation(prepare_file(path).image, first) > 0.97


def test_one_pixel_image(tmp_path):
    path = _save(Image.new("L", (1, 1), 200), tmp_path / "dot.png")
    with pytest.raises(EmptyImageError, match="nothing to classify"):
        prepare_file(path)


def test_blank_inputs_say_there_is_nothing_to_classify():
    for pixels in (np.zeros((280, 280), np.uint8), np.full((280, 280, 4), 255, np.uint8),
                   np.full((50, 70, 3), 128, np.uint8)):
        with pytest.raises(EmptyImageError, match="nothing to classify"):
            prepare_pixels(pixels)


def test_canvas_strokes_in_any_colour_on_any_background():
    for background, ink in ((0, 255), (255, 0), (30, 200)):
        canvas = np.full((280, 280, 3), background, np.uint8)
        canvas[40:240, 120:160] = ink  # a vertical bar
        image = prepare_pixels(canvas).image
        assert image.shape == (28, 28) and image.max() == pytest.approx(1.0)
        assert image[:, 13:15].mean() > 0.8 and image[:, :5].max() < 0.05


def _huge_png_header(width, height) -> bytes:
    """A valid PNG that claims a huge size (tiny on disk): a decompression-bomb shape."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def test_huge_image_is_refused_without_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_huge_png_header(20_000, 20_000))
    with pytest.raises(ImageError, match="too large"):
        prepare_file(path)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_huge_png_header(100_000, 100_000))
    with pytest.raises(ImageError, match="too large"):
        prepare_file(bomb)


@pytest.mark.parametrize("name, content, message", [
    ("empty.png", b"", "empty"),
    ("notes.png", b"these are not pixels\n" * 20, "not an image"),
    ("cut.png", None, "damaged or truncated"),
    ("cut.jpg", None, "damaged or truncated"),
])
def test_bad_files_get_clear_messages(tmp_path, dataset, name, content, message):
    path = tmp_path / name
    if content is None:
        buffer = io.BytesIO()
        render_dark_on_white(dataset.test_images[0]).save(buffer, format="PNG" if name.endswith("png") else "JPEG")
        content = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        prepare_file(path)


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(ImageError, match="folder"):
        prepare_file(tmp_path)
    with pytest.raises(ImageError, match="does not exist"):
        prepare_file(tmp_path / "gone.png")


def test_file_name_with_spaces_and_non_ascii(tmp_path, dataset):
    path = _save(render_dark_on_white(dataset.test_images[TROUSER_INDEX]), tmp_path / "mein Hosen-Foto é 日本.png")
    assert prepare_file(path).image.shape == (28, 28)
