"""The record format: one place that names every tf.Example key.

Writer side (plain Python, used by the converter) and reader side (TensorFlow
ops, used by train, eval and bench) live together so they cannot drift apart.

Keys (TF-Slim names where TF-Slim has one):
  image/encoded        bytes   PNG (8- or 16-bit) or JPEG
  image/format         bytes   b'png' | b'jpeg'
  image/height         int64
  image/width          int64
  image/channels       int64   1 or 3
  image/bit_depth      int64   8 or 16
  image/class/label    int64[] one class index (multi-class) or a multi-hot
                               vector of length num_classes (multi-label)
  image/source_id      bytes   file stem (Kaggle DR, NIH), path relative to the
                               class folders' parent with patient folders
                               hashed (image_folder, flowers, oct), or a salted
                               hash (DICOM); never a name
  image/patient_group  bytes   salted hash of the patient id ('' when unknown)
"""
import hashlib

ENCODED = "image/encoded"
FORMAT = "image/format"
HEIGHT = "image/height"
WIDTH = "image/width"
CHANNELS = "image/channels"
BIT_DEPTH = "image/bit_depth"
LABEL = "image/class/label"
SOURCE_ID = "image/source_id"
PATIENT_GROUP = "image/patient_group"


def anonymize(value, salt: str = "slim-med") -> str:
  """A stable, non-reversible 16-hex-digit token for an identifier."""
  digest = hashlib.sha256(("%s\x00%s" % (salt, value)).encode("utf-8"))
  return digest.hexdigest()[:16]


def make_example(encoded: bytes, image_format: str, height: int, width: int,
                 channels: int, bit_depth: int, label, source_id: str,
                 patient_group: str = ""):
  """Builds a tf.train.Example. ``label`` is an int or a sequence of ints."""
  from tf_compat import tf  # imported lazily so converter workers start fast
  if isinstance(label, (list, tuple)):
    labels = [int(v) for v in label]
  else:
    labels = [int(label)]

  def _bytes(v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))

  def _ints(vs):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(vs)))

  feature = {
      ENCODED: _bytes(encoded),
      FORMAT: _bytes(image_format.encode("ascii")),
      HEIGHT: _ints([height]),
      WIDTH: _ints([width]),
      CHANNELS: _ints([channels]),
      BIT_DEPTH: _ints([bit_depth]),
      LABEL: _ints(labels),
      SOURCE_ID: _bytes(source_id.encode("utf-8")),
      PATIENT_GROUP: _bytes(patient_group.encode("utf-8")),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature))


def feature_spec(label_length: int = 1):
  """The parsing spec. ``label_length`` is num_classes for multi-label data."""
  from tf_compat import tf
  return {
      ENCODED: tf.io.FixedLenFeature([], tf.string),
      FORMAT: tf.io.FixedLenFeature([], tf.string, default_value="png"),
      HEIGHT: tf.io.FixedLenFeature([], tf.int64),
      WIDTH: tf.io.FixedLenFeature([], tf.int64),
      CHANNELS: tf.io.FixedLenFeature([], tf.int64, default_value=3),
      BIT_DEPTH: tf.io.FixedLenFeature([], tf.int64, default_value=8),
      LABEL: tf.io.FixedLenFeature([label_length], tf.int64),
      SOURCE_ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
      PATIENT_GROUP: tf.io.FixedLenFeature([], tf.string, default_value=""),
  }


def decode_image(encoded, channels: int = 3, bit_depth: int = 8):
  """Encoded PNG/JPEG bytes (scalar tensor) -> float32 [H, W, C] in [0, 1].

  The one decode of stored pixels: records (``parse``) and encoded images fed
  to an exported model go through it, so both see the same values.
  """
  from tf_compat import tf
  if bit_depth == 16:
    image = tf.io.decode_png(encoded, channels=channels, dtype=tf.uint16)
    return tf.cast(image, tf.float32) / 65535.0
  image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
  return tf.cast(image, tf.float32) / 255.0


def parse(serialized, label_length: int = 1, bit_depth: int = 8,
          channels: int = 3):
  """Parses one serialized Example into a dict of tensors.

  Returns keys: ``image`` (float32 in [0, 1], HxWxC with C = ``channels`` of
  the dataset; 16-bit data keep their full precision), ``label`` (int64 scalar,
  or an int64 multi-hot vector when ``label_length > 1``), ``source_id``,
  ``patient_group``, ``height``, ``width``.

  ``bit_depth`` and ``channels`` come from dataset_info.json (one value per
  dataset), which keeps the decode op static.
  """
  from tf_compat import tf
  parsed = tf.io.parse_single_example(serialized, feature_spec(label_length))
  image = decode_image(parsed[ENCODED], channels=channels, bit_depth=bit_depth)
  label = parsed[LABEL]
  if label_length == 1:
    label = label[0]
  return {
      "image": image,
      "label": label,
      "source_id": parsed[SOURCE_ID],
      "patient_group": parsed[PATIENT_GROUP],
      "height": parsed[HEIGHT],
      "width": parsed[WIDTH],
  }
