"""Fixtures of the evaluation and inference tests: converted records of the Kaggle-DR demo
data and tiny InceptionV3 checkpoints (depth_multiplier 0.1, 80 px).

The records are written here with tfexample.make_example + dataset_info.write
from ``imaging.read_and_prepare`` pixels -- the same steps as the converter --
so that these tests do not depend on the converter.
"""
import os

import numpy as np
import pytest

from tf_compat import slim, tf
from datasets import dataset_info, imaging, tfexample
from nets import model_spec
from nets import nets_factory

IMAGE_SIZE = 80
DEPTH = 0.1
PREPROCESSING = {"image_size": IMAGE_SIZE, "resize": "pad", "crop_black_borders": 10}
VALIDATION = 23   # odd on purpose: batch sizes 5 and 7 do not divide it


def write_records(directory, name, splits, class_names, graded, preprocessing,
                  num_shards=2):
  """splits: {split: [(path, label, patient)]} -> shards + dataset_info.json."""
  infos = {}
  for split, rows in splits.items():
    shards = [rows[i::num_shards] for i in range(num_shards)]
    counts = [0] * len(class_names)
    for s, shard_rows in enumerate(shards):
      path = os.path.join(directory, "%s_%s_%05d-of-%05d.tfrecord"
                          % (name, split, s, num_shards))
      with tf.io.TFRecordWriter(path) as writer:
        for image_path, label, patient in shard_rows:
          array = imaging.read_and_prepare(image_path, preprocessing)
          example = tfexample.make_example(
              imaging.encode(array, "png"), "png", array.shape[0], array.shape[1],
              array.shape[2], 8, label,
              os.path.splitext(os.path.basename(image_path))[0],
              tfexample.anonymize(patient) if patient else "")
          writer.write(example.SerializeToString())
          counts[label] += 1
    infos[split] = dataset_info.SplitInfo(
        num_examples=len(rows), num_shards=num_shards, class_counts=counts,
        num_patients=len({r[2] for r in rows}))
  info = dataset_info.DatasetInfo(
      name=name, class_names=list(class_names), splits=infos,
      source_layout="kaggle_dr", graded=graded, channels=3, bit_depth=8,
      image_size=preprocessing.get("image_size"), preprocessing=dict(preprocessing))
  dataset_info.write(info, directory)
  return info


def save_checkpoint(train_dir, num_classes, steps=(1,), seed=0,
                    moving_average_decay=None, shadow_logits_zero=False,
                    model_name="inception_v3", image_size=IMAGE_SIZE):
  """Random tiny InceptionV3 saved as model.ckpt-<step> for each step
  (different weights per step). Returns the checkpoint prefixes."""
  paths = []
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(seed)
    images = tf.compat.v1.placeholder(tf.float32, [None, image_size, image_size, 3])
    network_fn = nets_factory.get_network_fn(model_name, num_classes,
                                             is_training=False, depth_multiplier=DEPTH)
    network_fn(images, create_aux_logits=False)   # 80 px is too small for it
    global_step = tf.compat.v1.train.get_or_create_global_step()
    if moving_average_decay:
      ema = tf.compat.v1.train.ExponentialMovingAverage(moving_average_decay)
      ema.apply(slim.get_model_variables())
    saver = tf.compat.v1.train.Saver(max_to_keep=None)
    with tf.compat.v1.Session() as sess:
      for step in steps:
        sess.run(tf.compat.v1.global_variables_initializer())
        if moving_average_decay and shadow_logits_zero:
          for var in slim.get_model_variables():
            if "/Logits/" in var.op.name:
              shadow = ema.average(var)
              sess.run(shadow.assign(tf.zeros_like(shadow)))
        sess.run(global_step.assign(step))
        paths.append(saver.save(sess, os.path.join(train_dir, "model.ckpt"),
                                global_step=step))
  return paths


@pytest.fixture(scope="session")
def dr_dataset(demo_kaggle_dr, tmp_path_factory):
  """Kaggle-DR demo converted: validation = first 23 eyes, train = 8 more."""
  directory = str(tmp_path_factory.mktemp("dr_records"))
  rows = [(path, int(grade), patient) for path, grade, patient in
          zip(demo_kaggle_dr["files"], demo_kaggle_dr["grades"],
              demo_kaggle_dr["patients"])]
  info = write_records(directory, "kaggle_dr",
                       {"validation": rows[:VALIDATION],
                        "train": rows[VALIDATION:VALIDATION + 8]},
                       demo_kaggle_dr["class_names"], True, PREPROCESSING)
  return {"dir": directory, "info": info, "rows": rows[:VALIDATION],
          "raw": demo_kaggle_dr}


def write_spec(train_dir, info, **settings):
  """The model_spec.json training writes (nets.model_spec.build)."""
  settings.setdefault("depth_multiplier", DEPTH)
  settings.setdefault("image_size", IMAGE_SIZE)
  spec = model_spec.build("inception_v3", info, **settings)
  model_spec.write(spec, train_dir)
  return spec


@pytest.fixture(scope="session")
def dr_checkpoints(dr_dataset, tmp_path_factory):
  """A train_dir with model.ckpt-10 and model.ckpt-20 (random weights) and
  the model_spec.json training writes."""
  train_dir = str(tmp_path_factory.mktemp("dr_train"))
  paths = save_checkpoint(train_dir, 5, steps=(10, 20), seed=1)
  write_spec(train_dir, dr_dataset["info"])
  return {"dir": train_dir, "paths": paths}


def uniform(num_classes):
  return np.full(num_classes, 1.0 / num_classes)


@pytest.fixture(scope="session")
def xray_binary(tmp_path_factory):
  """A binary task as users have it: class folders ``normal`` and
  ``abnormal`` (the signal grows in abnormal films), so alphabetical order
  puts abnormal at index 0. Records of train (4+4) and validation (6+6), no
  test split, and a train_dir with a tiny 2-class model.ckpt-5 + flags.json."""
  from demo import synthetic
  raw = synthetic.make_image_folder(str(tmp_path_factory.mktemp("xray_binary_raw")),
                               class_names=("normal", "abnormal"), per_class=10)
  class_names = sorted(raw["class_names"])          # as the converter orders them
  assert class_names == ["abnormal", "normal"]
  rows = {"train": [], "validation": []}
  seen = {}
  for path, name in zip(raw["files"], raw["labels"]):
    seen[name] = seen.get(name, 0) + 1
    split = "train" if seen[name] <= 4 else "validation"
    rows[split].append((path, class_names.index(name),
                        os.path.splitext(os.path.basename(path))[0]))
  directory = str(tmp_path_factory.mktemp("xray_binary_records"))
  write_records(directory, "chest", rows, class_names, False,
                {"image_size": IMAGE_SIZE, "resize": "pad"})
  train_dir = str(tmp_path_factory.mktemp("xray_binary_train"))
  [checkpoint] = save_checkpoint(train_dir, 2, steps=(5,), seed=3)
  with open(os.path.join(train_dir, "flags.json"), "w") as f:
    f.write('{"model_name": "inception_v3", "depth_multiplier": %s, '
            '"train_image_size": %d}\n' % (DEPTH, IMAGE_SIZE))
  return {"dir": directory, "train_dir": train_dir, "checkpoint": checkpoint,
          "class_names": class_names, "validation": rows["validation"]}
