"""Read one raw image file -> the exact pixel array the converter stores.

``read_and_prepare(path, preprocessing)`` is the only function that turns a raw
file (JPEG, PNG 8/16-bit, BMP, TIFF, DICOM) into pixels. The converter, predict
and visualize all call it with the ``preprocessing`` dict stored in
dataset_info.json, so an image is prepared the same way everywhere.

Steps, in order:
  1. decode (PIL; pydicom + pylibjpeg for DICOM). Large JPEGs are decoded at a
     reduced DCT scale (``Image.draft``) when the target is much smaller.
     16-bit / 32-bit integer images (PIL modes I;16, I) are scaled to [0, 1]
     by the DATASET's ``intensity_range`` [low, high] (raw units, measured
     once at conversion), the same factor for every image: a 12-bit film in a
     16-bit PNG fills [0, 1] like its 8-bit version. Without the key (datasets
     converted before it existed) the old per-image rule applies: I;16 / 65535,
     I / 255 or / 65535 by the image's own maximum.
  2. DICOM only: modality LUT (rescale slope/intercept), VOI LUT or window
     center/width (header, or explicit), MONOCHROME1 inverted. Without a window
     (``dicom_window=auto``) the range the header allows is used:
     ``dicom_fallback="bits_stored"`` maps BitsStored (signed when
     PixelRepresentation=1, through the modality LUT) to [0, 1], the same for
     every file of a scanner; ``"minmax"`` (the default, for datasets
     converted before the key existed) stretches each image's own min-max, as
     does ``dicom_window=minmax``.
  3. black-border crop (``crop_black_borders`` = threshold on 0-255 scale:
     rows/columns whose mean brightness is below it are frame).
  4. grayscale (ITU-R 601 luma) when asked.
  5. resize: ``pad`` (keep aspect, pad with black to a square), ``stretch``
     (older tutorials), ``keep`` (originals).
  6. Ben Graham's fundus normalisation (4 * (image - gaussian blur) + 128,
     outside 90% of the disc set to grey) when asked.
  7. bit depth (8 -> uint8, 16 -> uint16) and channels (1 or 3).

Workers import this module without TensorFlow (fast start, small memory); only
remote paths (``gs://`` ...) go through ``tf.io.gfile``.
"""
import io
from typing import Optional

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULTS = {
    "image_size": None,          # int; None keeps the original size
    "resize": "pad",             # pad | stretch | keep
    "crop_black_borders": None,  # threshold 0-255, None/0 = off
    "grayscale": False,
    "ben_graham": False,
    "bit_depth": 8,              # 8 | 16
    "channels": 3,               # 1 | 3
    "dicom_window": "auto",      # auto (VOI LUT / header window, else dicom_fallback) | minmax | [center, width]
    "dicom_fallback": "minmax",  # auto without a header window: bits_stored | minmax (old datasets)
    "intensity_range": None,     # [low, high] raw units for I;16 / I images; None: per-image rule (old datasets)
    "jpeg_draft": True,          # reduced-scale JPEG decode when the target is much smaller
    "interpolation": "bicubic",
}
RESIZE_MODES = ("pad", "stretch", "keep")
DICOM_FALLBACKS = ("bits_stored", "minmax")
# Conversion measures intensity_range as this percentile of the pixels of a
# spread-out sample of files (robust to a few hot pixels), at most
# SAMPLE_PIXELS_PER_FILE evenly strided pixels from each file.
INTENSITY_PERCENTILE = 99.9
SAMPLE_PIXELS_PER_FILE = 1 << 16
_INTEGER_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# A JPEG is decoded at reduced DCT scale (1/2, 1/4, 1/8) only while both sides
# stay >= this multiple of the target size; the final antialiased resize does
# the rest (PSNR vs full decode + resize is measured in the tests).
DRAFT_OVERSAMPLING = 1
# Black-border profiles are measured at this resolution (long side, pixels).
BORDER_REFERENCE = 256
DICOM_EXTENSIONS = (".dcm", ".dicom", ".dic")
_INTERPOLATION = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR,
                  "lanczos": Image.LANCZOS, "nearest": Image.NEAREST,
                  "area": Image.BOX}


class ImageReadError(Exception):
  """A raw file cannot be turned into an image; the message names the file."""


def full_preprocessing(preprocessing: Optional[dict]) -> dict:
  """``preprocessing`` with every missing key set to its default."""
  settings = dict(DEFAULTS)
  settings.update(preprocessing or {})
  if settings["resize"] not in RESIZE_MODES:
    raise ValueError("resize must be one of %s, got %r"
                     % ("|".join(RESIZE_MODES), settings["resize"]))
  if int(settings["bit_depth"]) not in (8, 16):
    raise ValueError("bit_depth must be 8 or 16, got %r" % settings["bit_depth"])
  if int(settings["channels"]) not in (1, 3):
    raise ValueError("channels must be 1 or 3, got %r" % settings["channels"])
  if settings["dicom_fallback"] not in DICOM_FALLBACKS:
    raise ValueError("dicom_fallback must be one of %s, got %r"
                     % ("|".join(DICOM_FALLBACKS), settings["dicom_fallback"]))
  span = settings["intensity_range"]
  if span is not None and (len(span) != 2 or not float(span[1]) > float(span[0])):
    raise ValueError("intensity_range must be [low, high] with high > low, got %r"
                     % (span,))
  return settings


def read_bytes(path: str) -> bytes:
  if "://" in path:
    from tf_compat import tf
    with tf.io.gfile.GFile(path, "rb") as f:
      return f.read()
  with open(path, "rb") as f:
    return f.read()


def read_head(path: str, size: int) -> bytes:
  """The first ``size`` bytes of a file."""
  if "://" in path:
    from tf_compat import tf
    with tf.io.gfile.GFile(path, "rb") as f:
      return f.read(size)
  with open(path, "rb") as f:
    return f.read(size)


def open_binary(path: str):
  """A seekable binary file object (tf.io.gfile for remote paths)."""
  if "://" in path:
    from tf_compat import tf
    return tf.io.gfile.GFile(path, "rb")
  return open(path, "rb")


def is_dicom(path: str, data: Optional[bytes] = None) -> bool:
  if path.lower().endswith(DICOM_EXTENSIONS):
    return True
  return data is not None and len(data) >= 132 and data[128:132] == b"DICM"


def read_and_prepare(path: str, preprocessing: dict) -> np.ndarray:
  """The pixels conversion stores for ``path``: uint8/uint16 HxWxC, C in {1,3}.

  Raises ImageReadError (naming the file and the reason) for zero-byte,
  truncated, non-image files and DICOM without pixel data.
  """
  p = full_preprocessing(preprocessing)
  try:
    data = read_bytes(path)
  except (OSError, IOError) as err:
    raise ImageReadError("%s: cannot read file (%s)" % (path, err)) from err
  if not data:
    raise ImageReadError("%s: zero-byte file" % path)
  try:
    if is_dicom(path, data):
      image = _decode_dicom(data, p)       # float32 HxWxC in [0, 1]
    else:
      image = _decode_pil(data, p)         # PIL image
  except ImageReadError as err:
    raise ImageReadError("%s: %s" % (path, err)) from None
  except UnidentifiedImageError:
    raise ImageReadError("%s: not an image file (unknown format)" % path) from None
  except Exception as err:  # PIL/pydicom raise many types for broken files
    raise ImageReadError("%s: not a readable image (%s: %s)"
                         % (path, type(err).__name__, err)) from err
  if isinstance(image, Image.Image):
    if image.mode in ("L", "RGB") and int(p["bit_depth"]) == 8:
      return _prepare_uint8(image, p)
    image = pil_to_float(image, p["intensity_range"])
  return prepare_array(image, p)


def _edges(profile: np.ndarray, threshold: float):
  """Sub-pixel (start, end) where ``profile`` crosses ``threshold``, or None.

  Interpolating between pixel centres makes the crop box nearly independent of
  the decode scale, so a DCT-scaled decode crops the same region as a full one.
  """
  above = np.flatnonzero(profile > threshold)
  if above.size == 0:
    return None
  i0, i1 = int(above[0]), int(above[-1])
  p = profile.astype(np.float64)
  start = 0.0
  if i0 > 0:
    start = i0 - 0.5 + (threshold - p[i0 - 1]) / (p[i0] - p[i0 - 1])
  end = float(len(p))
  if i1 < len(p) - 1:
    end = i1 + 0.5 + (p[i1] - threshold) / (p[i1] - p[i1 + 1])
  return max(0.0, start), min(float(len(p)), end)


def border_box(img: Image.Image, threshold: float):
  """(x0, y0, x1, y1) float box without the dark frame, or None if all dark.

  Rows/columns whose mean brightness (brightest channel) is <= threshold are
  frame. The profiles are measured on a copy area-reduced to BORDER_REFERENCE
  pixels and the crossing is interpolated between pixel centres, so a JPEG
  decoded at reduced DCT scale gets the same box as a full decode.
  """
  w, h = img.size
  factor = min(1.0, BORDER_REFERENCE / float(max(w, h)))
  rw, rh = max(1, int(round(w * factor))), max(1, int(round(h * factor)))
  small = img.resize((rw, rh), Image.BOX) if (rw, rh) != (w, h) else img
  ref = np.asarray(small, dtype=np.float64)
  if ref.ndim == 3:
    ref = ref.max(axis=2)
  cols = _edges(ref.mean(axis=0), threshold)
  rows = _edges(ref.mean(axis=1), threshold)
  if cols is None or rows is None:
    return None
  sx, sy = w / float(rw), h / float(rh)
  return (cols[0] * sx, rows[0] * sy, cols[1] * sx, rows[1] * sy)


def _prepare_uint8(img: Image.Image, p: dict) -> np.ndarray:
  """Fast path for 8-bit sources stored as 8-bit: PIL ops on uint8.

  Same steps as prepare_array (crop, grayscale, resize, Ben Graham, channels);
  the crop box is sub-pixel and applied by the resize itself.
  """
  box = None
  if p["crop_black_borders"]:
    box = border_box(img, float(p["crop_black_borders"]))
  if (p["grayscale"] or int(p["channels"]) == 1) and img.mode != "L":
    img = img.convert("L")
  if box is None:
    box = (0.0, 0.0, float(img.size[0]), float(img.size[1]))
  size = p["image_size"]
  if size and p["resize"] != "keep":
    size = int(size)
    resample = _INTERPOLATION[p["interpolation"]]
    if p["resize"] == "stretch":
      img = img.resize((size, size), resample, box=box)
    else:
      w, h = box[2] - box[0], box[3] - box[1]
      scale = size / float(max(h, w))
      nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
      resized = img.resize((nw, nh), resample, box=box)
      img = Image.new(img.mode, (size, size))
      img.paste(resized, ((size - nw) // 2, (size - nh) // 2))
  elif p["crop_black_borders"]:
    img = img.crop(tuple(int(round(v)) for v in box))
  if p["ben_graham"]:
    return prepare_array(pil_to_float(img), dict(p, crop_black_borders=None,
                                                   image_size=None))
  arr = np.asarray(img)
  if arr.ndim == 2:
    arr = arr[:, :, None]
  if int(p["channels"]) == 3 and arr.shape[2] == 1:
    arr = np.repeat(arr, 3, axis=2)
  return np.ascontiguousarray(arr)


def prepare_array(image: np.ndarray, preprocessing: dict) -> np.ndarray:
  """Steps 3-7 on a decoded float image in [0, 1] (HxW or HxWxC)."""
  p = full_preprocessing(preprocessing)
  if image.ndim == 2:
    image = image[:, :, None]
  image = image.astype(np.float32, copy=False)
  if p["crop_black_borders"]:
    image = crop_black_borders(image, float(p["crop_black_borders"]) / 255.0)
  if p["grayscale"] or int(p["channels"]) == 1:
    image = to_grayscale(image)
  image = resize(image, p["image_size"], p["resize"], p["interpolation"])
  if p["ben_graham"]:
    image = ben_graham(image)
  if int(p["channels"]) == 3 and image.shape[2] == 1:
    image = np.repeat(image, 3, axis=2)
  maximum = 65535 if int(p["bit_depth"]) == 16 else 255
  out = np.clip(np.rint(image * maximum), 0, maximum)
  return out.astype(np.uint16 if maximum == 65535 else np.uint8)


# ----------------------------------------------------------------- decoding
def _decode_pil(data: bytes, p: dict) -> np.ndarray:
  img = Image.open(io.BytesIO(data))
  size = p["image_size"]
  if (p["jpeg_draft"] and size and p["resize"] != "keep"
      and img.format == "JPEG"):
    want = int(size) * DRAFT_OVERSAMPLING
    img.draft(img.mode, (want, want))
  img.load()
  img = ImageOps.exif_transpose(img)
  if img.mode in ("1", "LA", "P;L"):
    img = img.convert("L")
  elif img.mode in ("P", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
    img = img.convert("RGB")
  return img


def pil_to_float(img: Image.Image, intensity_range=None) -> np.ndarray:
  """A PIL image -> float32 HxWxC in [0, 1], 16-bit precision kept.

  Integer images (I;16, I) are scaled by ``intensity_range`` [low, high] when
  given (one factor for the whole dataset), else by the old per-image rule.
  """
  mode = img.mode
  if mode in _INTEGER_MODES:
    arr = np.asarray(img).astype(np.float32)
    if intensity_range is not None:
      low, high = float(intensity_range[0]), float(intensity_range[1])
      return np.clip((arr - low) / (high - low), 0, 1)[:, :, None]
    top = 65535.0 if mode != "I" or arr.max() > 255 else 255.0
    return np.clip(arr / top, 0, 1)[:, :, None]
  if mode == "F":
    arr = np.asarray(img, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    return ((arr - lo) / (hi - lo if hi > lo else 1.0))[:, :, None]
  if mode in ("1", "L", "LA", "P;L"):
    img = img.convert("L")
  elif mode != "RGB":
    img = img.convert("RGB")  # P, RGBA, CMYK, YCbCr, LAB...
  arr = np.asarray(img, dtype=np.float32) / 255.0
  return arr if arr.ndim == 3 else arr[:, :, None]


def _decode_dicom(data: bytes, p: dict) -> np.ndarray:
  import pydicom
  from pydicom.pixels import apply_modality_lut
  ds = pydicom.dcmread(io.BytesIO(data), force=True)
  if "PixelData" not in ds and "FloatPixelData" not in ds:
    raise ImageReadError("DICOM without pixel data")
  pixels = ds.pixel_array
  frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
  photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2"))
  samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
  if frames > 1:
    pixels = pixels[0]
  if samples == 3:  # RGB / YBR (pydicom converts YBR to RGB)
    bits = int(getattr(ds, "BitsStored", 8) or 8)
    return np.clip(pixels.astype(np.float32) / float(2 ** bits - 1), 0, 1)
  if photometric == "PALETTE COLOR":
    from pydicom.pixels import apply_color_lut
    rgb = apply_color_lut(pixels, ds).astype(np.float32)
    return rgb / (65535.0 if rgb.max() > 255 else 255.0)
  values = apply_modality_lut(pixels, ds).astype(np.float64)
  window = p["dicom_window"]
  if isinstance(window, (list, tuple)):
    scaled = _window(values, float(window[0]), float(window[1]))
  elif window == "auto" and "VOILUTSequence" in ds:
    scaled = _voi_lut(values, ds.VOILUTSequence[0])
  elif window == "auto" and "WindowCenter" in ds and "WindowWidth" in ds:
    center, width = ds.WindowCenter, ds.WindowWidth
    if isinstance(center, pydicom.multival.MultiValue):
      center = center[0]
    if isinstance(width, pydicom.multival.MultiValue):
      width = width[0]
    scaled = _window(values, float(center), float(width))
  elif window == "auto" and p["dicom_fallback"] == "bits_stored":
    scaled = _stored_range(values, ds)
  elif window in ("auto", "minmax"):
    lo, hi = float(values.min()), float(values.max())
    scaled = (values - lo) / (hi - lo if hi > lo else 1.0)
  else:
    raise ValueError("dicom_window must be 'auto', 'minmax' or [center, width], "
                     "got %r" % (window,))
  if photometric == "MONOCHROME1":
    scaled = 1.0 - scaled  # high values are dark: invert to display like a film
  return scaled.astype(np.float32)[:, :, None]


def _stored_range(values: np.ndarray, ds) -> np.ndarray:
  """[0, 1] over the values BitsStored allows (signed if PixelRepresentation
  is 1), in modality units: the same scale for every image of a scanner."""
  from pydicom.pixels import apply_modality_lut
  bits = int(getattr(ds, "BitsStored", 0) or getattr(ds, "BitsAllocated", 0) or 16)
  if int(getattr(ds, "PixelRepresentation", 0) or 0) == 1:
    ends = np.array([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1], dtype=np.int64)
  else:
    ends = np.array([0, 2 ** bits - 1], dtype=np.int64)
  ends = np.asarray(apply_modality_lut(ends, ds), dtype=np.float64)
  lo, hi = float(ends.min()), float(ends.max())
  return np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)


def _voi_lut(values: np.ndarray, item) -> np.ndarray:
  """DICOM PS3.3 C.11.2 VOI LUT (first item of the sequence) to [0, 1]."""
  entries, first, bits = (int(v) for v in item.LUTDescriptor)
  entries = entries or 65536
  data = item.LUTData
  if isinstance(data, (bytes, bytearray)):
    table = np.frombuffer(data, dtype="<u2" if bits > 8 or len(data) >= 2 * entries
                          else np.uint8).astype(np.float64)
  else:
    table = np.asarray(data, dtype=np.float64).ravel()
  table = table[:entries]
  index = np.clip(np.rint(values) - first, 0, len(table) - 1).astype(np.int64)
  return np.clip(table[index] / float(2 ** bits - 1), 0.0, 1.0)


def _window(values: np.ndarray, center: float, width: float) -> np.ndarray:
  """DICOM PS3.3 C.11.2.1.2 linear window to [0, 1]."""
  width = max(width, 1.0)
  return np.clip((values - (center - 0.5)) / (width - 1.0 if width > 1 else 1.0)
                 + 0.5, 0.0, 1.0)


# --------------------------------------------------------------- operations
def crop_black_borders(image: np.ndarray, threshold: float) -> np.ndarray:
  """Crops rows/columns whose mean brightness is <= threshold (image in [0,1]).

  Same rule as border_box (the 8-bit path), on the full-resolution float image,
  rounded to whole pixels.
  """
  gray = image.max(axis=2).astype(np.float64)
  cols = _edges(gray.mean(axis=0), threshold)
  rows = _edges(gray.mean(axis=1), threshold)
  if cols is None or rows is None:
    return image  # all dark: nothing sensible to crop to
  y0, y1 = int(round(rows[0])), max(int(round(rows[1])), int(round(rows[0])) + 1)
  x0, x1 = int(round(cols[0])), max(int(round(cols[1])), int(round(cols[0])) + 1)
  return image[y0:y1, x0:x1]


def to_grayscale(image: np.ndarray) -> np.ndarray:
  if image.shape[2] == 1:
    return image
  weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
  return (image[:, :, :3] @ weights)[:, :, None]


def _resize_channels(image: np.ndarray, width: int, height: int,
                     interpolation: str) -> np.ndarray:
  resample = _INTERPOLATION[interpolation]
  out = np.empty((height, width, image.shape[2]), np.float32)
  for c in range(image.shape[2]):
    channel = Image.fromarray(np.ascontiguousarray(image[:, :, c]))
    out[:, :, c] = np.asarray(channel.resize((width, height), resample))
  return np.clip(out, 0.0, 1.0)


def resize(image: np.ndarray, size: Optional[int], mode: str = "pad",
           interpolation: str = "bicubic") -> np.ndarray:
  if not size or mode == "keep":
    return image
  size = int(size)
  h, w = image.shape[:2]
  if mode == "stretch":
    return _resize_channels(image, size, size, interpolation)
  scale = size / float(max(h, w))
  nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
  resized = _resize_channels(image, nw, nh, interpolation)
  canvas = np.zeros((size, size, image.shape[2]), np.float32)
  top, left = (size - nh) // 2, (size - nw) // 2
  canvas[top:top + nh, left:left + nw] = resized
  return canvas


def ben_graham(image: np.ndarray) -> np.ndarray:
  """Ben Graham (Kaggle DR 2015): 4*(I - Gauss(I, r/30)) + 0.5, rim to grey."""
  h, w = image.shape[:2]
  sigma = max(min(h, w) / 30.0, 1.0)
  from scipy import ndimage
  blurred = ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest")
  out = np.clip(4.0 * (image - blurred) + 0.5, 0.0, 1.0)
  yy, xx = np.ogrid[:h, :w]
  radius = 0.9 * min(h, w) / 2.0
  outside = (yy - (h - 1) / 2.0) ** 2 + (xx - (w - 1) / 2.0) ** 2 > radius ** 2
  out[outside] = 0.5
  return out


# ----------------------------------------------------------------- encoding
def encode(array: np.ndarray, image_format: str = "png") -> bytes:
  """uint8/uint16 HxWxC -> PNG (8/16-bit) or JPEG (8-bit) bytes."""
  buf = io.BytesIO()
  if array.dtype == np.uint16:
    if image_format != "png":
      raise ValueError("16-bit images can only be stored as PNG")
    if array.shape[2] != 1:
      from tf_compat import tf
      return tf.io.encode_png(array).numpy()
    Image.fromarray(np.ascontiguousarray(array[:, :, 0])).save(buf, format="PNG")
    return buf.getvalue()
  img = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
  if image_format == "png":
    img.save(buf, format="PNG", compress_level=1)
  elif image_format == "jpeg":
    img.save(buf, format="JPEG", quality=95)
  else:
    raise ValueError("image_format must be png or jpeg, got %r" % image_format)
  return buf.getvalue()


def intensity_sample(path: str, max_pixels: int = SAMPLE_PIXELS_PER_FILE):
  """Raw values of an integer (I;16 / I) image, at most ``max_pixels`` evenly
  strided; None for DICOM and for 8-bit / colour / float images."""
  if path.lower().endswith(DICOM_EXTENSIONS) or is_dicom(path, read_head(path, 132)):
    return None
  with open_binary(path) as f, Image.open(f) as img:
    if img.mode not in _INTEGER_MODES:
      return None
    arr = np.asarray(img).ravel()
  step = max(1, arr.size // max_pixels)
  return arr[::step][:max_pixels].astype(np.float64)


def intensity_range(samples, percentile: float = INTENSITY_PERCENTILE):
  """[low, high] raw units from sampled pixels: high is the ``percentile``-th
  percentile, low is 0 (the black of unsigned data) unless the data go
  negative, then the mirrored low percentile."""
  values = np.concatenate([np.asarray(s, dtype=np.float64).ravel() for s in samples])
  high = float(np.percentile(values, percentile))
  low = min(0.0, float(np.percentile(values, 100.0 - percentile)))
  if high <= low:
    high = low + 1.0
  return [round(low, 3), round(high, 3)]


def probe(path: str) -> dict:
  """Cheap header look: {'channels': 1|3, 'bit_depth': 8|16} (no pixel decode)."""
  data_head = b""
  if not path.lower().endswith(DICOM_EXTENSIONS):
    data_head = read_head(path, 132)
  if is_dicom(path, data_head):
    import pydicom
    with open_binary(path) as f:
      ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    bits = int(getattr(ds, "BitsStored", 8) or 8)
    return {"channels": 3 if samples == 3 else 1, "bit_depth": 16 if bits > 8 else 8}
  with open_binary(path) as f, Image.open(f) as img:
    mode = img.mode
  if mode.startswith("I"):
    return {"channels": 1, "bit_depth": 16}
  return {"channels": 1 if mode in ("1", "L", "LA", "F") else 3, "bit_depth": 8}
