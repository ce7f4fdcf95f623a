"""make_dataset: record reading, batching, eval exactness, balanced sampling."""
import collections

import numpy as np
import pytest

from tf_compat import tf
from datasets import dataset_factory
from datasets import input_pipeline
from preprocessing import preprocessing_factory
from tests.training import record_fixtures


def _batches(dataset, limit=None):
  out = []
  for i, batch in enumerate(dataset):
    if limit is not None and i >= limit:
      break
    out.append({k: v.numpy() for k, v in batch.items()})
  return out


@pytest.mark.parametrize("channels,bit_depth", [(1, 8), (3, 8), (1, 16)])
def test_eval_pass_yields_every_example_once(tmp_path, channels, bit_depth):
  root = record_fixtures.write_dataset(tmp_path, splits={"validation": [4, 3]},
                                       channels=channels, bit_depth=bit_depth,
                                       num_shards=3)
  split = dataset_factory.get_split("tiny", "validation", root)
  fn = preprocessing_factory.get_preprocessing("xray", is_training=False)
  ds = input_pipeline.make_dataset(split, fn, 24, batch_size=4, is_training=False)
  batches = _batches(ds)
  assert [len(b["labels"]) for b in batches] == [4, 3]   # no dropped remainder
  ids = np.concatenate([b["source_id"] for b in batches])
  assert len(set(ids)) == 7
  labels = np.concatenate([b["labels"] for b in batches])
  assert sorted(labels.tolist()) == [0, 0, 0, 0, 1, 1, 1]
  images = batches[0]["images"]
  assert images.shape == (4, 24, 24, 3) and images.dtype == np.float32
  assert images.min() >= -1.0 and images.max() <= 1.0 and images.max() > 0.9
  # Two passes give the same order.
  again = np.concatenate([b["source_id"] for b in _batches(ds)])
  np.testing.assert_array_equal(ids, again)


def test_training_batches_are_full_and_repeat(tmp_path):
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [3, 2]})
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("inception_v3", is_training=True)
  ds = input_pipeline.make_dataset(split, fn, 32, batch_size=4, is_training=True,
                                   num_readers=2, num_parallel_calls=2, seed=1)
  batches = _batches(ds, limit=5)
  assert all(b["images"].shape == (4, 32, 32, 3) for b in batches)
  counts = collections.Counter(np.concatenate([b["labels"] for b in batches]).tolist())
  assert set(counts) == {0, 1}


def test_labels_offset_and_multilabel(tmp_path):
  root = record_fixtures.write_dataset(tmp_path / "a", splits={"train": [0, 2, 2]})
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("oct", False)
  ds = input_pipeline.make_dataset(split, fn, 16, 4, False, labels_offset=1)
  assert sorted(_batches(ds)[0]["labels"].tolist()) == [0, 0, 1, 1]
  root = record_fixtures.write_dataset(tmp_path / "b", splits={"train": [1, 1, 1]},
                                       multilabel=True)
  split = dataset_factory.get_split("tiny", "train", root)
  batch = _batches(input_pipeline.make_dataset(split, fn, 16, 3, False))[0]
  assert batch["labels"].shape == (3, 3)
  assert batch["labels"].sum(axis=0).tolist() == [1, 1, 1]
  with pytest.raises(ValueError, match="multi-label"):
    input_pipeline.make_dataset(split, fn, 16, 3, True, balanced_sampling=True)


def test_balanced_sampling_equalises_class_frequencies(tmp_path):
  # 18:2 imbalance -> about 50:50 with balanced sampling, 90:10 without.
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [18, 2]}, size=16)
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("xray", is_training=False)

  def minority_fraction(balanced):
    ds = input_pipeline.make_dataset(split, fn, 8, batch_size=20, is_training=True,
                                     balanced_sampling=balanced, seed=3,
                                     num_parallel_calls=2)
    labels = np.concatenate([b["labels"] for b in _batches(ds, limit=20)])
    return float(np.mean(labels == 1))

  unbalanced = minority_fraction(False)
  balanced = minority_fraction(True)
  assert unbalanced == pytest.approx(2 / 20, abs=0.01)   # exact per epoch
  assert balanced == pytest.approx(0.5, abs=0.06)        # 400 draws, sd 0.025


def test_balanced_sampling_with_labels_offset(tmp_path):
  # Class 0 (e.g. a background class) is empty; labels shift down by one.
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [0, 18, 2]}, size=16)
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("xray", is_training=False)
  ds = input_pipeline.make_dataset(split, fn, 8, batch_size=20, is_training=True,
                                   balanced_sampling=True, labels_offset=1, seed=3)
  labels = np.concatenate([b["labels"] for b in _batches(ds, limit=10)])
  assert set(labels.tolist()) == {0, 1}
  assert np.mean(labels == 1) == pytest.approx(0.5, abs=0.08)


def test_labels_offset_refuses_examples_of_the_background_class(tmp_path):
  # TF-Slim's --labels_offset drops the first classes as a background the net
  # does not model; examples of them would get negative labels.
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [3, 2, 2]})
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("oct", False)
  for is_training in (True, False):
    with pytest.raises(ValueError, match=r"^--labels_offset=1 treats class 0 \('0'\) "
                       r"as a background class .* split 'train' has 3 examples of "
                       r"it; use --labels_offset=0$"):
      input_pipeline.make_dataset(split, fn, 16, 4, is_training, labels_offset=1)
  with pytest.raises(ValueError, match=r"--labels_offset=3 must be in \[0, 3\)"):
    input_pipeline.check_labels_offset(split, 3)


def test_balanced_sampling_reads_each_record_about_once(tmp_path, monkeypatch):
  # Kaggle DR's grade frequencies (73/7/15/2.5/2 %): one filtered stream per
  # class reads ~22 records per drawn example; one read should need ~1.
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [147, 14, 30, 5, 4]},
                                       size=8, num_shards=2)
  split = dataset_factory.get_split("tiny", "train", root)
  fn = preprocessing_factory.get_preprocessing("xray", is_training=False)
  reads = []
  tfrecord_dataset = tf.data.TFRecordDataset

  def counting(filename):
    def count(record):
      reads.append(1)
      return record
    return tfrecord_dataset(filename).map(
        lambda r: tf.py_function(count, [r], tf.string))
  monkeypatch.setattr(tf.data, "TFRecordDataset", counting)
  ds = input_pipeline.make_dataset(split, fn, 8, batch_size=50, is_training=True,
                                   balanced_sampling=True, seed=3,
                                   num_parallel_calls=1, num_readers=1,
                                   shuffle_buffer_size=50)
  labels = np.concatenate([b["labels"] for b in _batches(ds, limit=20)])
  assert np.bincount(labels, minlength=5) / len(labels) == pytest.approx(
      [0.2] * 5, abs=0.05)
  per_drawn = len(reads) / len(labels)
  assert per_drawn < 2.0, per_drawn
