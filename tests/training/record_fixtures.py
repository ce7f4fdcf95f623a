"""Tiny TFRecord datasets for the preprocessing, pipeline and training tests.

Written with the real record writer (tfexample.make_example) and
dataset_info.write, so the tests read exactly what the converter produces.
Images are class-separable: class c has a bright square in quadrant c % 4
(and, for c >= 4, a second one in the opposite quadrant), on noise.
"""
import io
import os

import numpy as np
from PIL import Image

from datasets import dataset_info, tfexample


def make_image(label, size, channels, rng, bit_depth=8):
  """A float image in [0, 1] whose bright quadrant encodes ``label``."""
  image = rng.uniform(0.0, 0.3, size=(size, size)).astype(np.float32)
  half = size // 2
  q = size // 4
  row, col = divmod(label % 4, 2)
  y, x = row * half + q // 2, col * half + q // 2
  image[y:y + q, x:x + q] = 1.0
  if label >= 4:
    y2, x2 = (1 - row) * half + q // 2, (1 - col) * half + q // 2
    image[y2:y2 + q, x2:x2 + q] = 1.0
  if channels == 3:
    image = np.stack([image, image * 0.8, image * 0.6], axis=-1)
  else:
    image = image[..., None]
  return image


def encode_png(image, bit_depth):
  if bit_depth == 16:
    array = np.round(image * 65535).astype(np.uint16)
  else:
    array = np.round(image * 255).astype(np.uint8)
  if array.shape[-1] == 1:
    array = array[..., 0]
  buffer = io.BytesIO()
  if bit_depth == 16:
    if array.ndim != 2:
      raise ValueError("16-bit fixtures are grayscale")
    Image.fromarray(array).save(buffer, format="PNG")  # mode I;16 -> 16-bit PNG
  else:
    Image.fromarray(array).save(buffer, format="PNG")
  return buffer.getvalue()


def write_dataset(root, name="tiny", splits=None, size=32, channels=1,
                  bit_depth=8, multilabel=False, num_classes=None, num_shards=2,
                  seed=0):
  """Writes ``splits`` ({split: per-class example counts}) into ``root``.

  For ``multilabel`` the per-class list gives, per finding, the number of
  examples positive for that finding alone; extra all-negative examples are
  not written. Returns the dataset directory (str).
  """
  from tf_compat import tf
  root = str(root)
  os.makedirs(root, exist_ok=True)
  splits = splits or {"train": [8, 8], "validation": [2, 2]}
  rng = np.random.RandomState(seed)
  if num_classes is None:
    num_classes = len(next(iter(splits.values())))
  info_splits = {}
  for split_name, per_class in splits.items():
    examples = []
    for label, count in enumerate(per_class):
      for i in range(count):
        image = make_image(label, size, channels, rng, bit_depth)
        if multilabel:
          record_label = [1 if k == label else 0 for k in range(num_classes)]
        else:
          record_label = label
        examples.append((image, record_label, "%s_%d_%d" % (split_name, label, i)))
    order = rng.permutation(len(examples))
    examples = [examples[i] for i in order]
    shards = min(num_shards, max(1, len(examples)))
    for shard in range(shards):
      path = os.path.join(root, "%s_%s_%05d-of-%05d.tfrecord"
                          % (name, split_name, shard, shards))
      with tf.io.TFRecordWriter(path) as writer:
        for image, record_label, source_id in examples[shard::shards]:
          example = tfexample.make_example(
              encode_png(image, bit_depth), "png", size, size, channels,
              bit_depth, record_label, source_id,
              tfexample.anonymize("patient-%s" % source_id))
          writer.write(example.SerializeToString())
    info_splits[split_name] = dataset_info.SplitInfo(
        num_examples=len(examples), num_shards=shards,
        class_counts=[int(c) for c in per_class])
  info = dataset_info.DatasetInfo(
      name=name, class_names=[str(c) for c in range(num_classes)],
      splits=info_splits, task="multilabel" if multilabel else "multiclass",
      channels=channels, bit_depth=bit_depth, image_size=size,
      file_pattern=name + "_%s_*.tfrecord")
  dataset_info.write(info, root)
  return root
