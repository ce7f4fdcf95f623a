"""The tf.data input pipeline shared by training, evaluation and benchmarks.

    records (shards) --interleave(num_readers)--> shuffle --> repeat
      --> parse + preprocess (num_parallel_calls) --> batch --> prefetch

Training streams forever (or ``num_epochs`` times) in shuffled order, with
full batches only. Evaluation (``is_training=False``) is one ordered pass that
yields every example exactly once, the last batch possibly smaller.

With ``balanced_sampling`` classes are drawn uniformly from ONE read of the
records: a record of class c (frequency p_c among K present classes) is
emitted floor(m_c) or floor(m_c)+1 times, m_c = 1/(K p_c) on average, before
the shuffle buffer. Rare classes are repeated, common ones thinned; per drawn
example about one record is read, where one filtered stream per class read
the data K times over (22x the records per drawn example at Kaggle DR's
class frequencies). Only the label is parsed before the decision.
"""
from tf_compat import tf

from datasets import tfexample

AUTOTUNE = tf.data.AUTOTUNE


def _image_hw(image_size):
  if isinstance(image_size, (tuple, list)):
    height, width = image_size
  else:
    height = width = image_size
  return int(height), int(width)


def _label_only(split):
  """The record's class index as written (class_counts are indexed by it)."""
  spec = {tfexample.LABEL: tf.io.FixedLenFeature([split.label_length], tf.int64)}

  def fn(serialized):
    return tf.io.parse_single_example(serialized, spec)[tfexample.LABEL][0]
  return fn


def check_labels_offset(split, labels_offset):
  """TF-Slim's --labels_offset: the dataset's first ``labels_offset`` classes
  are a background the net does not model. Refuses a split that has examples
  of them (their shifted labels would be negative)."""
  if not labels_offset:
    return
  if labels_offset < 0 or labels_offset >= split.num_classes:
    raise ValueError("--labels_offset=%d must be in [0, %d) for the %d classes "
                     "of %s" % (labels_offset, split.num_classes,
                                split.num_classes, split.dataset_name))
  counts = list(split.class_counts or [])
  names = list(split.class_names)
  for c in range(min(labels_offset, len(counts))):
    if counts[c]:
      raise ValueError(
          "--labels_offset=%d treats class %d (%r) as a background class the "
          "net does not model, but split %r has %d examples of it; use "
          "--labels_offset=0" % (labels_offset, c, names[c], split.split_name,
                                 counts[c]))


def _balanced(records, split, seed):
  """Records -> records whose classes are uniform (see the module doc)."""
  label_of = _label_only(split)
  counts = [float(n) for n in split.class_counts]
  present = [c for c, n in enumerate(counts) if n > 0]
  if not present:
    raise ValueError("class_counts of split %r are all zero; cannot balance"
                     % split.split_name)
  total = sum(counts)
  # Mean copies per record of class c: target 1/K over its frequency n_c/N.
  copies = tf.constant([total / (len(present) * n) if n > 0 else 0.0
                        for n in counts], tf.float32)

  @tf.autograph.experimental.do_not_convert
  def repeat(serialized):
    mean = copies[tf.clip_by_value(label_of(serialized), 0, len(counts) - 1)]
    whole = tf.floor(mean)
    extra = tf.random.uniform([], seed=seed) < mean - whole
    times = tf.cast(whole, tf.int32) + tf.cast(extra, tf.int32)
    return tf.fill([times], serialized)

  return records.map(repeat).unbatch()


def make_dataset(split, preprocess_fn, image_size, batch_size, is_training,
                 num_readers=4, num_parallel_calls=4, num_epochs=None,
                 labels_offset=0, seed=None, balanced_sampling=False,
                 shuffle_buffer_size=None, prefetch_batches=AUTOTUNE,
                 drop_remainder=None):
  """Builds the tf.data.Dataset of dict batches.

  Args:
    split: a ``datasets.dataset_factory.Split``.
    preprocess_fn: ``fn(image, height, width)`` from preprocessing_factory.
    image_size: int or (height, width) of the net input.
    batch_size: examples per batch.
    is_training: shuffled, repeated, full batches; else one ordered pass.
    num_readers: shards read in parallel (TF-Slim --num_readers).
    num_parallel_calls: parallel decode/preprocess (--num_preprocessing_threads).
    num_epochs: None = repeat forever when training; evaluation default 1.
    labels_offset: subtracted from multi-class labels (TF-Slim --labels_offset).
    seed: makes shuffling and augmentation order repeatable; when set, shard
      interleaving is deterministic too.
    balanced_sampling: uniform class frequencies (multi-class training only).
    shuffle_buffer_size: default min(num_samples, max(1000, 10 * batch_size)).
    prefetch_batches: batches prepared ahead.
    drop_remainder: default True when training, False for evaluation.

  Returns:
    Dataset of {"images": [B,H,W,3] float32, "labels": [B] int64 or [B,C]
    multi-hot int64, "source_id": [B] string, "patient_group": [B] string}.
  """
  height, width = _image_hw(image_size)
  if split.label_length == 1:
    check_labels_offset(split, labels_offset)
  if drop_remainder is None:
    drop_remainder = bool(is_training)
  if balanced_sampling and not is_training:
    raise ValueError("balanced_sampling only applies to training")
  if balanced_sampling and split.multilabel:
    raise ValueError("--balanced_sampling needs single-label classes; %s is "
                     "multi-label: use --class_weights=auto (per-finding "
                     "positive/negative weights) instead" % split.dataset_name)
  if shuffle_buffer_size is None:
    shuffle_buffer_size = max(1000, 10 * batch_size)
    if not balanced_sampling:   # balancing repeats records: no epoch-size cap
      shuffle_buffer_size = max(1, min(split.num_samples or 1000,
                                       shuffle_buffer_size))
  deterministic = (not is_training) or seed is not None
  label_length = split.label_length
  bit_depth, channels = split.bit_depth, split.channels

  files = tf.data.Dataset.from_tensor_slices(list(split.files))
  if is_training:
    files = files.shuffle(len(split.files), seed=seed,
                          reshuffle_each_iteration=True).repeat(num_epochs)
    records = files.interleave(
        tf.data.TFRecordDataset, cycle_length=max(1, num_readers),
        block_length=1, num_parallel_calls=max(1, num_readers),
        deterministic=deterministic)
  else:
    records = files.interleave(
        tf.data.TFRecordDataset, cycle_length=1, block_length=1,
        num_parallel_calls=1, deterministic=True)
    if num_epochs:
      records = records.repeat(num_epochs)

  if is_training and balanced_sampling:
    records = _balanced(records, split, seed)
  if is_training:
    records = records.shuffle(shuffle_buffer_size, seed=seed,
                              reshuffle_each_iteration=True)

  # Written with tf ops only (no Python control flow on tensors), so tf.data
  # need not run AutoGraph over it and everything it calls: ~1 s of start-up.
  @tf.autograph.experimental.do_not_convert
  def parse_and_preprocess(serialized):
    parsed = tfexample.parse(serialized, label_length=label_length,
                             bit_depth=bit_depth, channels=channels)
    image = preprocess_fn(parsed["image"], height, width)
    image.set_shape([height, width, 3])
    label = parsed["label"]
    if label_length == 1 and labels_offset:
      label = label - labels_offset
    return {"images": image, "labels": label,
            "source_id": parsed["source_id"],
            "patient_group": parsed["patient_group"]}

  dataset = records.map(parse_and_preprocess,
                        num_parallel_calls=max(1, num_parallel_calls),
                        deterministic=deterministic)
  dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
  return dataset.prefetch(prefetch_batches)
