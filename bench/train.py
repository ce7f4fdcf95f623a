"""Training throughput and the dead time around a training run.

For one model/size/batch, per mode (full training, head-only fine-tuning =
--trainable_scopes Logits/AuxLogits) this builds the training graph once per
feed and measures images/s in alternating rounds (median), so load from other
processes hits every feed alike:
  pipeline  datasets.input_pipeline.make_dataset (records -> decode -> preprocess)
  memory    one batch held in a variable (no input cost)
  mixed     the pipeline, in the session config --mixed_precision picks here
            (deployment.precision: bfloat16 on BF16 CPUs, float16 on GPUs)
  mixed_memory  memory, in that session config
  balanced  the pipeline with --balanced_sampling (the synthetic records have
            Kaggle DR's class frequencies, 73/7/15/2.5/2 %)
The pipeline is the training one (train.training_dataset_options included).
Ratios: pipeline/memory (input efficiency), mixed/pipeline (mixed-precision
speed-up of training), mixed_memory/memory (the same without the input
pipeline: on a machine whose cores also decode and augment the images, the
input's CPU time caps the first), balanced/pipeline (cost of balanced
sampling). Each is printed twice: the ratio of the two medians, and the median
over rounds of the ratio within a round (the two feeds timed back to back,
under the same load: the steadier one on a shared machine).

--startup_runs=N then times N 5-step runs of training.train.build_and_train
per precision in child processes (alternating): start-up = process start ->
first step starts, tail = last step ends -> process exited, and wall - steps.

  python bench/train.py                       # InceptionV3, 299 px, batch 16
  python bench/train.py --image_size=107 --depth_multiplier=0.1 --steps=5  # quick

Without --dataset_dir it writes synthetic JPEG records (--num_records of
--record_size px, the converter's format) to a temporary folder.
"""
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import tf_compat  # noqa: E402
from tf_compat import tf  # noqa: E402
from datasets import dataset_factory  # noqa: E402
from datasets import input_pipeline  # noqa: E402
from nets import nets_factory  # noqa: E402
from preprocessing import preprocessing_factory  # noqa: E402
from training import losses as losses_lib  # noqa: E402
from training import optimizers, restore, train  # noqa: E402
from deployment import precision as precision_lib  # noqa: E402
import startup  # noqa: E402
from bench_common import median_rates, write_synthetic  # noqa: E402

flags.DEFINE_string("model_name", "inception_v3", "Model to benchmark.")
flags.DEFINE_float("depth_multiplier", None, "Thin the net (quick runs).")
flags.DEFINE_integer("image_size", 299, "Net input size.")
flags.DEFINE_integer("batch_size", 16, "Batch size.")
flags.DEFINE_integer("steps", 12, "Timed steps per configuration.")
flags.DEFINE_integer("rounds", 3, "Alternating pipeline/in-memory rounds (median).")
flags.DEFINE_integer("warmup_steps", 2, "Untimed steps first.")
flags.DEFINE_string("dataset_dir", None, "Converted dataset (default: synthetic).")
flags.DEFINE_string("dataset_split_name", "train", "Split to read.")
flags.DEFINE_integer("num_records", 256, "Synthetic records to write.")
flags.DEFINE_integer("record_size", 320, "Synthetic record image size.")
flags.DEFINE_string("preprocessing_name", None, "Default: the model's.")
flags.DEFINE_integer("num_readers", 4, "--num_readers of the pipeline.")
flags.DEFINE_integer("num_preprocessing_threads", 4, "Parallel map calls.")
flags.DEFINE_list("modes", ["full", "heads"], "full = all variables train; "
                  "heads = only the logits scopes (fine-tuning).")
flags.DEFINE_list("feeds", ["pipeline", "memory", "mixed", "mixed_memory",
                            "balanced"],
                  "Feeds to compare (see the module doc).")
flags.DEFINE_integer("startup_runs", 2, "5-step child runs per precision for "
                     "start-up/tail seconds (0 = skip).")
flags.DEFINE_string("code_dir", None, "Time start-up/tail of the checkout in "
                    "this folder instead (before/after comparisons).")
FLAGS = flags.FLAGS


class Runner:
  """One training graph in its own session, timed in chunks of steps."""

  def __init__(self, split, mode, feed):
    self.graph = tf.Graph()
    with self.graph.as_default():
      with tf_compat.GraphConstruction():
        self.train_op, load = build(split, mode, feed)
      precision = precision_lib.choose(feed.startswith("mixed"))
      self.session = tf.compat.v1.Session(
          graph=self.graph, config=precision_lib.session_config(precision))
      self.session.run([tf.compat.v1.global_variables_initializer(),
                        tf.compat.v1.local_variables_initializer()])
      if load is not None:
        self.session.run(load)
    for _ in range(FLAGS.warmup_steps):
      self.session.run(self.train_op)

  def images_per_second(self, steps):
    start = time.time()
    for _ in range(steps):
      self.session.run(self.train_op)
    return steps * FLAGS.batch_size / (time.time() - start)

  def close(self):
    self.session.close()


def measure(split, mode):
  """({feed: median images/s}, {feed: [images/s per round]}) over alternating
  rounds, so load from other processes on a shared machine hits every feed
  alike."""
  runners = {feed: Runner(split, mode, feed) for feed in FLAGS.feeds}
  per_round = {}
  return median_rates(runners, FLAGS.steps, FLAGS.rounds, per_round), per_round


def build(split, mode, feed):
  """The training op fed by the pipeline or by one batch held in memory."""
  spec = nets_factory.get_spec(FLAGS.model_name)
  network_fn = nets_factory.get_network_fn(
      FLAGS.model_name, split.num_classes, weight_decay=0.00004,
      is_training=True, depth_multiplier=FLAGS.depth_multiplier)
  preprocess = preprocessing_factory.get_preprocessing(
      FLAGS.preprocessing_name or spec.preprocessing, is_training=True)
  dataset = input_pipeline.make_dataset(
      split, preprocess, FLAGS.image_size, FLAGS.batch_size, is_training=True,
      num_readers=FLAGS.num_readers,
      num_parallel_calls=FLAGS.num_preprocessing_threads,
      balanced_sampling=(feed == "balanced"))
  dataset = dataset.with_options(train.training_dataset_options())
  batch = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
  if feed.endswith("memory"):
    held_images = tf.Variable(tf.zeros(batch["images"].shape), trainable=False,
                              collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
    held_labels = tf.Variable(tf.zeros(batch["labels"].shape, tf.int64), trainable=False,
                              collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
    load = tf.group(held_images.assign(batch["images"]),
                    held_labels.assign(batch["labels"]))
    images, labels = held_images.read_value(), held_labels.read_value()
  else:
    load = None
    images, labels = batch["images"], batch["labels"]
  logits, end_points = network_fn(images)
  loss_config = losses_lib.LossConfig(split)
  if "AuxLogits" in end_points:
    loss_config.add(end_points["AuxLogits"], labels, loss_weight=0.4)
  loss_config.add(logits, labels)
  total = tf.compat.v1.losses.get_total_loss()
  scopes = ",".join(spec.logits_scopes) if mode == "heads" else None
  var_list = restore.variables_to_train(scopes)
  optimizer = optimizers.configure_optimizer(
      0.01, optimizers.OptimizerParams(optimizer="rmsprop"))
  update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
  grads = optimizer.compute_gradients(total, var_list=var_list)
  train_op = tf.group(optimizer.apply_gradients(grads), *update_ops)
  return train_op, load


KAGGLE_DR_FREQUENCIES = (0.735, 0.069, 0.151, 0.025, 0.020)


def main(unused_argv):
  tmp = None
  dataset_dir = FLAGS.dataset_dir
  if not dataset_dir:
    tmp = tempfile.TemporaryDirectory(prefix="bench_train_")
    dataset_dir = write_synthetic(tmp.name, FLAGS.num_records, FLAGS.record_size,
                                  class_frequencies=KAGGLE_DR_FREQUENCIES)
  split = dataset_factory.get_split(None, FLAGS.dataset_split_name, dataset_dir)
  print(precision_lib.environment_summary())
  print("--mixed_precision here: %s" % precision_lib.choose(True).describe(), flush=True)
  rows = []
  for mode in FLAGS.modes:
    rates, per_round = measure(split, mode)
    rows.append((mode, rates, per_round))
    print("%s: %s" % (mode, ", ".join("%s %.2f images/s" % kv for kv in rates.items())),
          flush=True)
  print()
  print("%s, %d px, batch %d, depth_multiplier %s, %d steps in %d rounds "
        "(median), %d CPU cores, load average before: %.1f" % (
            FLAGS.model_name, FLAGS.image_size, FLAGS.batch_size,
            FLAGS.depth_multiplier or 1.0, FLAGS.steps, FLAGS.rounds,
            os.cpu_count(), os.getloadavg()[0]))
  ratios = [("pipeline/memory", "pipeline", "memory"),
            ("mixed/float32", "mixed", "pipeline"),
            ("mixed/f32 memory", "mixed_memory", "memory"),
            ("balanced/plain", "balanced", "pipeline")]
  ratios = [r for r in ratios if r[1] in FLAGS.feeds and r[2] in FLAGS.feeds]
  print("%-8s" % "mode" + "".join("%14s" % f for f in FLAGS.feeds)
        + "".join("%17s" % r[0] for r in ratios))
  for mode, rates, per_round in rows:
    print("%-8s" % mode + "".join("%14.2f" % rates[f] for f in FLAGS.feeds)
          + "".join("%17.3f" % (rates[a] / rates[b]) for _, a, b in ratios))
    print("%-8s" % "  paired" + " " * 14 * len(FLAGS.feeds) + "".join(
        "%17.3f" % np.median(np.divide(per_round[a], per_round[b]))
        for _, a, b in ratios))
  if FLAGS.startup_runs:
    print()
    startup.report(dataset_dir, FLAGS.startup_runs, FLAGS.code_dir)
  if tmp is not None:
    tmp.cleanup()


if __name__ == "__main__":
  app.run(main)
