"""Image identity and safe decoding of user files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mirabench.cache import Cache, cache_dir, cache_key
from mirabench.images import ImageLoadError, decode_image, encode_png, image_hash, load_image


def test_hash_is_of_pixels_not_bytes(tmp_path: Path) -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    img.save(a, compress_level=0)
    img.save(b, compress_level=9)
    assert a.read_bytes() != b.read_bytes()
    assert image_hash(load_image(a)) == image_hash(load_image(b)) == image_hash(img)
    assert image_hash(img.convert("L")) != image_hash(img)


def test_png_encoding_is_lossless() -> None:
    arr = np.random.default_rng(1).integers(0, 255, (64, 40, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    assert np.array_equal(np.asarray(decode_image(encode_png(img))), arr)
    grey = img.convert("L")
    assert np.array_equal(np.asarray(decode_image(encode_png(grey)))[..., 0], np.asarray(grey))
    for image in (img, img.convert("RGBA")):  # the packed pixels made for the hash serve the encoder as well
        raw = image.tobytes()
        assert image_hash(image, raw) == image_hash(image)
        assert np.array_equal(np.asarray(decode_image(encode_png(image, raw))), np.asarray(image.convert("RGB")))


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.png", b"", r"empty \(0 bytes\)"),
        ("truncated.png", None, "cannot decode"),
        ("text.png", b"hello, not an image", "cannot decode"),
    ],
)
def test_unreadable_files_get_one_clear_error(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is None:
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (10, 20, 30)).save(buf, format="PNG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=message) as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_a_file_far_larger_than_any_image_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid PNG with data appended decodes fine; readers that keep the file's bytes (the importer) would hold all
    of it, so the file's size is checked first."""
    import mirabench.images as images

    path = tmp_path / "padded.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    monkeypatch.setattr(images, "MAX_FILE_BYTES", path.stat().st_size + 100)
    assert load_image(path).size == (8, 8)
    path.write_bytes(path.read_bytes() + b"\0" * 200)  # past IEND: Pillow never reads it
    with pytest.raises(ImageLoadError, match="over the 0 MB an image file may take") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (16000, 16000)).save(path)  # tiny file, 256 MP once decoded
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(path)


def test_modes_and_exif_orientation_become_upright_rgb(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.save(tmp_path / "alpha.png")
    assert load_image(tmp_path / "alpha.png").getpixel((0, 0)) == (255, 255, 255)  # transparent -> white
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    assert load_image(tmp_path / "cmyk.jpg").mode == "RGB"
    Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert load_image(tmp_path / "deep.png").getpixel((0, 0)) == (255, 255, 255)
    wide = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    wide.save(tmp_path / "rot.jpg", exif=exif)
    assert load_image(tmp_path / "rot.jpg").size == (20, 40)


def test_cache_location_and_no_caching_of_empty_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRABENCH_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    cache = Cache()
    key = cache_key("judge", {"b": 1, "a": 2})
    assert key == cache_key("judge", {"a": 2, "b": 1})
    cache.put(key, "")
    cache.put(cache_key("x"), None)
    assert cache.get(key) is None
    cache.put(key, {"score": 7})
    assert Cache().get(key) == {"score": 7}
    img = Image.new("RGB", (4, 4), (1, 2, 3))
    cache.put_image("k", img, image_hash(img))
    hit = cache.get_image("k")
    assert hit is not None and hit[0] == image_hash(img)
    (tmp_path / "c" / "images" / f"{image_hash(img)}.png").unlink()
    assert cache.get_image("k") is None  # an entry whose file vanished is a miss, not a crash
