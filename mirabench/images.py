"""Image identity, safe decoding and atomic files.

An image's identity is the sha256 of its pixels, mode and size (not of its PNG bytes, which vary with the
encoder), so the same picture gets the same name in every run directory and in the global cache.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import io
import os
import secrets
import warnings
from pathlib import Path, PosixPath
from typing import IO, TYPE_CHECKING, Any

from PIL import Image, ImageOps, UnidentifiedImageError

try:  # optional fast encoder ([local] and [dev] extras); Pillow is the fallback
    import fpng as _fpng
except ImportError:  # pragma: no cover - depends on the install
    _fpng = None

if TYPE_CHECKING:
    from mirabench.types import Sample

__all__ = [
    "ImageLoadError",
    "RootedPath",
    "Unreadable",
    "MAX_DECODED_BYTES",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "api_image_format",
    "atomic_write_bytes",
    "atomic_write_text",
    "decode_image",
    "decoded_bytes",
    "encode_png",
    "image_hash",
    "keep_freed_memory",
    "load_image",
    "rooted",
    "source_image",
    "unreadable_reason",
]

MAX_PIXELS = 64_000_000
"""Decompression-bomb guard: images above 64 MP (e.g. 16k x 16k) are refused instead of eating the RAM."""
MAX_DECODED_BYTES = 192_000_000
"""Decoded-bytes budget per image: the bytes a decode holds at its peak (the file's own mode, plus the RGB copy
when it is converted). A 64 MP RGB photo fits; a 7,999 x 7,999 1-bit PNG (7.8 kB on disk, 64 MB as decoded
1-bit pixels plus 192 MB as RGB) does not. Compressed size says nothing: a flat PNG compresses 25,000x."""
MAX_FILE_BYTES = 2 * MAX_DECODED_BYTES
"""No image file is larger than this (an uncompressed 64 MP RGB PNG is ~192 MB): a bigger one is data appended to an
image or not an image, and is refused before any reader (the importer keeps the file's bytes) holds it whole."""
_MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
}


class ImageLoadError(ValueError):
    """A source image is missing, unreadable or unsafe; the message names the file."""


class Unreadable:
    """The image of a suite row that could not be read: a sample that fails alone with the row's message.

    It is the sample's `image` (a callable that raises), not a key of `extra`, so no row's data can set it."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self) -> Image.Image:
        raise ImageLoadError(self.message)


def unreadable_reason(sample: Sample) -> str | None:
    """The message of a sample whose suite row could not be read, else None."""
    return sample.image.message if isinstance(sample.image, Unreadable) else None


class RootedPath(PosixPath):
    """A data file that must still be inside `data_root` when it is opened, not only when its row was read: a link
    swapped in between (a shared data folder) is caught at open time."""

    data_root: Path  # (`root` is PurePath's own: "/")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with its root (Ray ships samples to its workers)
        return (rooted, (self.data_root, str(self)))


def rooted(root: Path, path: Path | str) -> RootedPath:
    """`path` (already resolved and checked to be inside `root`) remembering its root for the open-time check."""
    out = RootedPath(path)
    out.data_root = root
    return out


def _open_file(path: Path) -> IO[bytes]:
    """Open a source image; a RootedPath is opened without following a final link, then the opened file is
    checked to be the file its resolved path names inside the root (catching a swapped directory link too)."""
    if not isinstance(path, RootedPath):
        return open(path, "rb")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageLoadError(f"image {path} became a symbolic link after it was checked; not followed") from None
        raise
    try:
        real = Path(os.path.realpath(path))
        opened, named = os.fstat(fd), os.stat(real)
        if not real.is_relative_to(path.data_root) or (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
            raise ImageLoadError(f"image {path} now leads outside the data root {path.data_root}; not followed")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def decoded_bytes(image: Image.Image) -> int:
    """Bytes an image's pixels hold in memory (what the live pool's budget counts)."""
    return image.width * image.height * _MODE_BYTES.get(image.mode, 4)


_M_TOP_PAD = -2  # glibc's mallopt parameter


def keep_freed_memory(pad_bytes: int = 32 * 2**20) -> bool:
    """Let glibc keep up to `pad_bytes` of freed heap instead of giving it back to the OS after every large free.

    A run allocates and frees megabytes per image (pixels, PNG bytes, the encoder's buffers). With glibc's default
    the heap shrinks and regrows around each image, and faulting those pages in again cost ~1.1 ms of a 512 px
    image's ~2 ms PNG encode on the project's machine (0.8 ms with the pad). Costs at most `pad_bytes` of freed
    memory kept per arena. Returns False where the C library has no `mallopt` (not glibc): nothing changes."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(_M_TOP_PAD, pad_bytes))
    except (OSError, AttributeError, TypeError):
        return False


def image_hash(image: Image.Image, raw: bytes | None = None) -> str:
    """`raw`: the image's `tobytes()` when the caller has them already (they are shared with `encode_png`)."""
    digest = hashlib.sha256()
    digest.update(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    digest.update(image.tobytes() if raw is None else raw)
    return digest.hexdigest()


def encode_png(image: Image.Image, raw: bytes | None = None) -> bytes:
    """Lossless PNG, fast: fpng (about 1 ms for a 512px RGB photo) when installed, else Pillow at level 1
    (about 20 ms). Both decode to the same pixels; only speed and a few percent of size differ.
    `raw`: the image's `tobytes()` if already made (for its hash): packing Pillow's pixels costs ~0.1 ms a time."""
    if image.mode in ("RGB", "RGBA") and _fpng is not None:
        pixels = image.tobytes() if raw is None else raw
        return bytes(_fpng.from_bytes(pixels, image.width, image.height, len(image.mode)))
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_image(data: bytes, label: str = "image") -> Image.Image:
    return _open(io.BytesIO(data), label)


def load_image(path: Path) -> Image.Image:
    """Decode a user-supplied image to RGB with EXIF orientation applied; clear errors, no bombs."""
    try:
        if not path.exists():
            raise ImageLoadError(f"image file not found: {path}")
        if not path.is_file():
            raise ImageLoadError(f"image path is not a file (a directory or device): {path}")
        size = path.stat().st_size
        if size == 0:
            raise ImageLoadError(f"image file is empty (0 bytes): {path}")
        if size > MAX_FILE_BYTES:
            mb, limit = size / 1e6, MAX_FILE_BYTES / 1e6
            raise ImageLoadError(f"image file is {mb:.0f} MB, over the {limit:.0f} MB an image file may take: {path}")
        with _open_file(path) as fh:
            return _open(fh, str(path))
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path; OSError: unreadable, swapped
        if isinstance(exc, ImageLoadError):
            raise
        raise ImageLoadError(f"cannot read image {path!r}: {exc}") from None


def source_image(sample: Sample) -> Image.Image:
    """A sample's source image I0 in RGB, whichever form its suite gave: a path (decoded safely here), a decoded
    PIL image, or a zero-argument callable that renders or loads it only now (lazy suites keep memory flat).

    Every reader of `Sample.image` (runner, importer, metrics, training) goes through this one function."""
    image = sample.image
    if callable(image):
        image = image()
        if not isinstance(image, Image.Image):
            got = type(image).__name__
            raise ImageLoadError(f"sample {sample.id!r}: its image callable returned {got}, not a PIL image")
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    return load_image(image if isinstance(image, Path) else Path(image))


def _open(fh: IO[bytes], label: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fh) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageLoadError(f"image too large ({w}x{h} > {MAX_PIXELS} pixels): {label}")
                need = w * h * (_MODE_BYTES.get(img.mode, 4) + (0 if img.mode == "RGB" else 3))
                if need > MAX_DECODED_BYTES:
                    raise ImageLoadError(
                        f"image too large to decode: {w}x{h} {img.mode} needs {need / 1e6:.0f} MB decoded, over the "
                        f"{MAX_DECODED_BYTES / 1e6:.0f} MB budget per image: {label}"
                    )
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return _to_rgb(img)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"image too large (decompression-bomb guard): {label}: {exc}") from None
    except UnidentifiedImageError:  # Pillow's own text names an internal file object, not the file
        raise ImageLoadError(f"cannot decode image {label}: not an image format Pillow reads") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"cannot decode image {label}: {exc}") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


def api_image_format(data: bytes) -> str | None:
    """The format of image file bytes when chat APIs accept it as is (PNG, JPEG, WebP), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write-then-rename: a reader (or a resume after kill -9) sees the old file or the new one, never half.
    The temp name carries the writer's PID, so a sweep can tell a dead writer's leftovers from a live one's.
    The file is created with mode 0666 less the umask (0644 under 022), like any file the user writes, so run
    directories and reports can be shared; mkstemp's 0600 would make every output private."""
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:  # the first file of a new folder (not checked before every write: a syscall each)
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class ImageDir:
    """A folder of PNGs named by pixel hash; writes are atomic and idempotent."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / f"{digest}.png"

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put(self, image: Image.Image, digest: str | None = None, raw: bytes | None = None) -> str:
        digest = digest or image_hash(image, raw)
        target = self.path(digest)
        if not target.exists():
            atomic_write_bytes(target, encode_png(image, raw))
        return digest

    def get(self, digest: str) -> Image.Image:
        return decode_image(self.path(digest).read_bytes(), str(self.path(digest)))

    def _original(self, digest: str, sample_id: str) -> Path:
        # per sample too: two files can decode to the same pixels (RGBA flattened onto white) yet differ in bytes
        return self.root / "originals" / f"{digest}-{hashlib.sha256(sample_id.encode()).hexdigest()[:16]}"

    def original(self, digest: str, sample_id: str) -> Path | None:
        """An imported image's own file bytes, kept beside its PNG so judges can send them unchanged."""
        path = self._original(digest, sample_id)
        return path if path.is_file() else None

    def put_original(self, digest: str, sample_id: str, data: bytes) -> None:
        atomic_write_bytes(self._original(digest, sample_id), data)
