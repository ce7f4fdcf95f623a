"""``datasets/imaging.read_and_prepare`` as TensorFlow ops, for serving.

The exported SavedModel takes a client's original PNG/JPEG bytes and prepares
them in the graph the way conversion prepared the training records: intensity
scaling, black-border crop, grayscale, aspect-keeping pad (or stretch) resize to
the stored size, Ben Graham's normalisation, and the stored bit depth.
The arithmetic follows imaging.py step for step; the resampling is
TensorFlow's antialiased bicubic instead of PIL's and the border is cut at
whole pixels, so values agree to within resampling error (measured in
tests/inference/test_predict_image_classifier.py), exactly where no resize is needed.

Not in the graph: DICOM decoding and windowing (pydicom); a DICOM client runs
``imaging.read_and_prepare`` and uses the ``prepared`` signature.
"""
from tf_compat import tf
from datasets import imaging

_LUMA = (0.299, 0.587, 0.114)


def _decode(encoded, p):
  """Original bytes -> float32 [H, W, 3] in [0, 1], scaled like imaging.py."""
  intensity = p.get("intensity_range")
  if int(p["bit_depth"]) == 16 or intensity:
    # 16-bit sources are PNG; 8-bit PNGs decode to value * 257 here.
    raw = tf.cast(tf.io.decode_png(encoded, channels=3, dtype=tf.uint16),
                  tf.float32)
    if intensity:
      low, high = float(intensity[0]), float(intensity[1])
      return tf.clip_by_value((raw - low) / max(high - low, 1.0), 0.0, 1.0)
    return raw / 65535.0
  image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  return tf.cast(image, tf.float32) / 255.0


def _profile_edges(profile, threshold):
  """First and last+1 index where ``profile`` > threshold (whole profile if
  none is)."""
  above = tf.where(profile > threshold)[:, 0]
  n = tf.shape(profile, out_type=tf.int64)[0]
  start = tf.cond(tf.size(above) > 0, lambda: above[0], lambda: tf.constant(0, tf.int64))
  end = tf.cond(tf.size(above) > 0, lambda: above[-1] + 1, lambda: n)
  return start, end


def crop_black_borders(image, threshold):
  """Rows/columns whose mean brightness (brightest channel) is <= threshold
  (on the 0-1 scale) are frame; an all-dark image is kept whole."""
  gray = tf.reduce_max(image, axis=2)
  r0, r1 = _profile_edges(tf.reduce_mean(gray, axis=1), threshold)
  c0, c1 = _profile_edges(tf.reduce_mean(gray, axis=0), threshold)
  return image[r0:r1, c0:c1]


def _resize(image, height, width):
  shape = tf.shape(image)
  same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
  return tf.cond(
      same, lambda: image,
      lambda: tf.clip_by_value(tf.image.resize(
          image, tf.stack([height, width]), method="bicubic", antialias=True),
          0.0, 1.0))


def resize(image, size, mode):
  if not size or mode == "keep":
    return image
  size = int(size)
  if mode == "stretch":
    out = _resize(image, size, size)
    out.set_shape([size, size, image.shape[-1]])
    return out
  shape = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = size / tf.reduce_max(shape)
  nh = tf.maximum(tf.cast(tf.round(shape[0] * scale), tf.int32), 1)
  nw = tf.maximum(tf.cast(tf.round(shape[1] * scale), tf.int32), 1)
  resized = _resize(image, nh, nw)
  top, left = (size - nh) // 2, (size - nw) // 2
  out = tf.pad(resized, [[top, size - nh - top], [left, size - nw - left], [0, 0]])
  out.set_shape([size, size, image.shape[-1]])
  return out


def _gaussian_blur(image, sigma):
  """scipy.ndimage.gaussian_filter(mode='nearest', truncate=4) per channel."""
  radius = int(4.0 * sigma + 0.5)
  x = tf.range(-radius, radius + 1, dtype=tf.float32)
  kernel = tf.exp(-0.5 * (x / sigma) ** 2)
  kernel /= tf.reduce_sum(kernel)
  channels = image.shape[-1]
  out = image[tf.newaxis]
  for axis in (1, 2):   # rows, then columns; edges replicated
    first = tf.gather(out, [0], axis=axis)
    last = tf.gather(out, [tf.shape(out)[axis] - 1], axis=axis)
    reps = [1, 1, 1, 1]
    reps[axis] = radius
    padded = tf.concat([tf.tile(first, reps), out, tf.tile(last, reps)], axis=axis)
    shape = [2 * radius + 1, 1] if axis == 1 else [1, 2 * radius + 1]
    k = tf.reshape(kernel, shape + [1, 1])
    k = tf.tile(k, [1, 1, channels, 1])
    out = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
  return out[0]


def ben_graham(image, size):
  """imaging.ben_graham on a square ``size`` image."""
  sigma = max(size / 30.0, 1.0)
  out = tf.clip_by_value(4.0 * (image - _gaussian_blur(image, sigma)) + 0.5,
                         0.0, 1.0)
  yy, xx = tf.meshgrid(tf.range(size, dtype=tf.float32),
                       tf.range(size, dtype=tf.float32), indexing="ij")
  centre = (size - 1) / 2.0
  radius = 0.9 * size / 2.0
  outside = ((yy - centre) ** 2 + (xx - centre) ** 2 > radius ** 2)[..., tf.newaxis]
  return tf.where(outside, 0.5 * tf.ones_like(out), out)


def read_and_prepare(encoded, preprocessing):
  """Original PNG/JPEG bytes (scalar string tensor) -> float32 [S, S, C] in
  [0, 1] with the values the converter would have stored (C = the stored
  channels), for ``preprocessing`` = dataset_info.json's / the spec's
  ``imaging`` dict."""
  p = imaging.full_preprocessing(preprocessing)
  image = _decode(encoded, p)
  if p["crop_black_borders"]:
    image = crop_black_borders(image, float(p["crop_black_borders"]) / 255.0)
  if p["grayscale"] or int(p["channels"]) == 1:
    image = tf.reduce_sum(image * tf.constant(_LUMA), axis=2, keepdims=True)
  image = resize(image, p["image_size"], p["resize"])
  if p["ben_graham"]:
    if not p["image_size"] or p["resize"] == "keep":
      raise ValueError("Ben Graham's normalisation in the graph needs a fixed "
                       "stored image size")
    image = ben_graham(image, int(p["image_size"]))
  if int(p["channels"]) == 3 and image.shape[-1] == 1:
    image = tf.tile(image, [1, 1, 3])
  maximum = 65535.0 if int(p["bit_depth"]) == 16 else 255.0
  return tf.round(tf.clip_by_value(image, 0.0, 1.0) * maximum) / maximum


def describe(preprocessing) -> str:
  """What the serving graph does to a client's bytes (for the export's
  README.txt and model_spec.json)."""
  p = imaging.full_preprocessing(preprocessing)
  steps = ["decode PNG/JPEG"]
  if p.get("intensity_range"):
    steps.append("scale intensities %s to [0, 1]" % (p["intensity_range"],))
  if p["crop_black_borders"]:
    steps.append("crop black borders (threshold %s/255)" % p["crop_black_borders"])
  if p["grayscale"] or int(p["channels"]) == 1:
    steps.append("grayscale")
  if p["image_size"] and p["resize"] != "keep":
    steps.append("%s-resize to %d px" % (p["resize"], int(p["image_size"])))
  if p["ben_graham"]:
    steps.append("Ben Graham normalisation")
  steps.append("%d-bit quantisation" % int(p["bit_depth"]))
  return ", ".join(steps)

