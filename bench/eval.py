"""Evaluation throughput: the real input pipeline against in-memory batches,
and float32 against --mixed_precision (the inference session config of
inference.model.session_config: bfloat16 on BF16 CPUs, float16 on GPUs).

The inference graph of eval_image_classifier.py (inference.model: eval
preprocessing, the net without AuxLogits, softmax) is built twice -- fed by
datasets.input_pipeline.make_dataset in evaluation mode (ordered records ->
decode -> preprocess -> batch), or by one batch held in a variable (no input
cost) -- and images/s are measured in alternating rounds (median), so load
from other processes hits both alike. Pipeline efficiency = pipeline / in-memory.

  python bench/eval.py                      # InceptionV3, 299 px, batch 32
  python bench/eval.py --image_size=107 --depth_multiplier=0.1 --steps=6  # quick

Without --dataset_dir it writes synthetic JPEG records (--num_records of
--record_size px, the converter's format) to a temporary folder.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from tf_compat import tf  # noqa: E402
from bench_common import median_rates, write_synthetic  # noqa: E402
from datasets import dataset_factory  # noqa: E402
from datasets import input_pipeline  # noqa: E402
from inference import model as model_lib  # noqa: E402
from nets import model_spec  # noqa: E402
from deployment import precision as precision_lib  # noqa: E402

flags.DEFINE_string("model_name", "inception_v3", "Model to benchmark.")
flags.DEFINE_float("depth_multiplier", None, "Thin the net (quick runs).")
flags.DEFINE_integer("image_size", 299, "Net input size.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("steps", 9, "Timed batches per feed, over all rounds.")
flags.DEFINE_integer("rounds", 3, "Alternating pipeline/in-memory rounds (median).")
flags.DEFINE_integer("warmup_steps", 1, "Untimed batches first.")
flags.DEFINE_string("dataset_dir", None, "Converted dataset (default: synthetic).")
flags.DEFINE_string("dataset_split_name", "validation", "Split to read.")
flags.DEFINE_integer("num_records", 256, "Synthetic records to write.")
flags.DEFINE_integer("record_size", 320, "Synthetic record image size.")
flags.DEFINE_string("preprocessing_name", None, "Default: the model's.")
flags.DEFINE_integer("num_preprocessing_threads", 4, "Parallel map calls.")
FLAGS = flags.FLAGS


class Runner:
  """One inference graph in its own session, timed in chunks of batches."""

  def __init__(self, split, feed):
    self.graph = tf.Graph()
    with self.graph.as_default():
      config = model_spec.build(
          FLAGS.model_name, split.info, depth_multiplier=FLAGS.depth_multiplier,
          image_size=FLAGS.image_size, preprocessing_name=FLAGS.preprocessing_name,
          mixed_precision=(feed == "mixed"))
      # Evaluation mode (ordered, no dropped remainder), repeated so that the
      # benchmark can run longer than one pass over a small split.
      dataset = input_pipeline.make_dataset(
          split, model_lib.preprocess_fn(config), config.input_size,
          FLAGS.batch_size, is_training=False, num_epochs=1000,
          num_parallel_calls=FLAGS.num_preprocessing_threads, drop_remainder=True)
      batch = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
      load = None
      images = batch["images"]
      if feed == "memory":
        held = tf.Variable(tf.zeros(images.shape), trainable=False,
                           collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
        load = held.assign(images)
        images = held.read_value()
      _, self.probabilities, _ = model_lib.logits_and_probabilities(images, config)
      self.session = tf.compat.v1.Session(
          graph=self.graph, config=model_lib.session_config(config))
      self.session.run([tf.compat.v1.global_variables_initializer(),
                        tf.compat.v1.local_variables_initializer()])
      if load is not None:
        self.session.run(load)
    for _ in range(FLAGS.warmup_steps):
      self.session.run(self.probabilities)

  def images_per_second(self, steps):
    start = time.time()
    for _ in range(steps):
      self.session.run(self.probabilities)
    return steps * FLAGS.batch_size / (time.time() - start)

  def close(self):
    self.session.close()


def measure(split):
  runners = {feed: Runner(split, feed) for feed in ("pipeline", "memory", "mixed")}
  return median_rates(runners, FLAGS.steps, FLAGS.rounds)


def main(unused_argv):
  tmp = None
  dataset_dir = FLAGS.dataset_dir
  if not dataset_dir:
    tmp = tempfile.TemporaryDirectory(prefix="bench_eval_")
    dataset_dir = write_synthetic(tmp.name, FLAGS.num_records, FLAGS.record_size,
                                  split_name=FLAGS.dataset_split_name)
  split = dataset_factory.get_split(None, FLAGS.dataset_split_name, dataset_dir)
  print(precision_lib.environment_summary())
  print("--mixed_precision here: %s" % precision_lib.choose(True).describe())
  rates = measure(split)
  pipeline, memory, mixed = rates["pipeline"], rates["memory"], rates["mixed"]
  print()
  print("evaluation: %s, %d px, batch %d, depth_multiplier %s, %d batches in %d "
        "rounds (median), %d CPU cores" % (
            FLAGS.model_name, FLAGS.image_size, FLAGS.batch_size,
            FLAGS.depth_multiplier or 1.0, FLAGS.steps, FLAGS.rounds, os.cpu_count()))
  print("%18s %18s %18s %16s %14s" % ("pipeline img/s", "in-memory img/s",
                                      "mixed img/s", "pipeline/memory",
                                      "mixed/float32"))
  print("%18.2f %18.2f %18.2f %16.3f %14.3f" % (pipeline, memory, mixed,
                                                pipeline / memory, mixed / pipeline))
  if tmp is not None:
    tmp.cleanup()


if __name__ == "__main__":
  app.run(main)
