"""Shared pieces of the benchmarks: synthetic records in the converter's format
and the pipeline-vs-in-memory timing loop."""
import io
import os

import numpy as np

from tf_compat import tf
from datasets import dataset_info, tfexample


def write_synthetic(directory, num_records, size, num_classes=5, shards=4,
                    split_name="train", class_frequencies=None):
  """Writes ``num_records`` random JPEG records as dataset 'bench' into
  ``directory`` (sharded, with dataset_info.json) and returns ``directory``.
  Classes are uniform, or drawn with ``class_frequencies`` (len = classes)."""
  from PIL import Image
  rng = np.random.RandomState(0)
  per_shard = [[] for _ in range(shards)]
  if class_frequencies is not None:
    num_classes = len(class_frequencies)
    drawn = np.random.RandomState(1).choice(
        num_classes, size=num_records,
        p=np.asarray(class_frequencies) / np.sum(class_frequencies))
  counts = [0] * num_classes
  for i in range(num_records):
    label = int(drawn[i]) if class_frequencies is not None else i % num_classes
    counts[label] += 1
    pixels = rng.randint(0, 255, size=(size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    per_shard[i % shards].append(tfexample.make_example(
        buffer.getvalue(), "jpeg", size, size, 3, 8, label, "img%05d" % i))
  for s, examples in enumerate(per_shard):
    path = os.path.join(directory, "bench_%s_%05d-of-%05d.tfrecord" % (split_name, s, shards))
    with tf.io.TFRecordWriter(path) as writer:
      for example in examples:
        writer.write(example.SerializeToString())
  info = dataset_info.DatasetInfo(
      name="bench", class_names=[str(c) for c in range(num_classes)],
      splits={split_name: dataset_info.SplitInfo(num_records, shards, counts)},
      image_format="jpeg", image_size=size)
  dataset_info.write(info, directory)
  return directory


def median_rates(runners, steps, rounds, per_round_rates=None):
  """{feed: median images/s} over ``rounds`` alternating rounds, so load from
  other processes on a shared machine hits every runner alike. A runner has
  ``images_per_second(steps)`` and ``close()``. ``per_round_rates`` (a dict)
  receives {feed: [images/s of each round]}."""
  rates = {feed: [] for feed in runners} if per_round_rates is None else per_round_rates
  rates.update({feed: [] for feed in runners})
  per_round = max(1, steps // rounds)
  for _ in range(rounds):
    for feed, runner in runners.items():
      rates[feed].append(runner.images_per_second(per_round))
  for runner in runners.values():
    runner.close()
  return {feed: float(np.median(values)) for feed, values in rates.items()}
