"""Trains a TF-Slim image classifier on a converted (medical) dataset.

Every TF-Slim training flag keeps its name and meaning; slim-med adds medical
options (class weights, balanced sampling, focal loss, multi-label, modality
preprocessing presets, depth multiplier, batch-norm freezing). Example
(fine-tune the official InceptionV3 checkpoint's new head):

  python train_image_classifier.py --train_dir=/tmp/train \\
    --dataset_name=kaggle_dr --dataset_split_name=train --dataset_dir=/data/dr \\
    --model_name=inception_v3 --checkpoint_path=/ckpt/inception_v3.ckpt \\
    --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \\
    --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits

Not supported: TF-Slim's --quantize_delay (tf.contrib.quantize does not exist
in TensorFlow 2), so the flag is not defined rather than silently ignored.
"""
import dataclasses
import os
import sys

from absl import app, flags, logging

import cli
import flagdefs
from tf_compat import tf  # noqa: F401  (installs the tf_slim compatibility alias)
from deployment import cluster as cluster_lib
from nets import model_spec
from training import train

FLAGS = flags.FLAGS

# Every flag is a field of one of these dataclasses, where its name, default
# and help are declared once; flagdefs defines the flags from them (listed
# under this script in --helpfull) and builds the TrainConfig from FLAGS.
FLAG_DECLARATIONS = (
    train.TrainConfig,               # TF-Slim's flags and slim-med's (+ optimizer)
    model_spec.PreprocessingFlags,   # --flip ... --use_grayscale
    cluster_lib.HostFlags,           # --ps_hosts --worker_hosts --job_name ...
    cluster_lib.EvaluatorTaskFlags,  # a cluster's evaluator task
)
TRAINING_FLAGS = sorted(name for declared in FLAG_DECLARATIONS
                        for name in flagdefs.define(declared))


def config_from_flags(f=FLAGS) -> train.TrainConfig:
  values = flag_values(f)
  return flagdefs.build(
      train.TrainConfig, f, flag_values=values,
      preprocessing_options=model_spec.preprocessing_options_from_flags(values))


def flag_values(f=FLAGS):
  """Every flag this script defines, with its value (for flags.json)."""
  return {name: f[name].value for name in TRAINING_FLAGS}


def run_evaluator():
  """The evaluator task: continuous evaluation of the chief's checkpoints,
  with the evaluator task's flags (EvaluatorTaskFlags: EvalOptions fields)
  and training's data and step count."""
  from evaluation import checkpoints, evaluate
  task = flagdefs.build(cluster_lib.EvaluatorTaskFlags, FLAGS)
  if next(checkpoints.new_checkpoints(FLAGS.train_dir, task.eval_interval_secs,
                                      task.timeout), None) is None:
    return   # no checkpoint came within --timeout (logged)
  evaluate.run(evaluate.EvalOptions(
      checkpoint_path=FLAGS.train_dir, dataset_dir=FLAGS.dataset_dir,
      dataset_name=FLAGS.dataset_name,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      last_step=FLAGS.max_number_of_steps, progress=False,
      **dataclasses.asdict(task)))


def resolve_cluster():
  """This process's cluster (TF_CONFIG, else the host flags), with TF-Slim's
  cluster flags set from it; None for a single machine. Mistakes are one line."""
  from datasets import dataset_factory
  from deployment import cluster as cluster_lib
  try:
    cluster = cluster_lib.resolve(os.environ, FLAGS.ps_hosts, FLAGS.worker_hosts,
                                  FLAGS.job_name, FLAGS.task)
    if cluster is None or cluster.role == "evaluator":
      return cluster
    cluster_lib.check_flags(cluster, FLAGS.num_ps_tasks, FLAGS.worker_replicas,
                            FLAGS.master)
    if cluster.role != "ps":   # every worker needs shards of its own
      cluster_lib.worker_split(cluster, dataset_factory.get_split(
          FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir))
  except ValueError as err:
    sys.exit("train_image_classifier.py: %s" % err)
  cluster.scratch_dir = FLAGS.worker_scratch_dir
  FLAGS.num_ps_tasks = cluster.num_ps
  if cluster.mode == "ps":   # TF-Slim's meaning: replicas sharing the ps
    FLAGS.worker_replicas = cluster.num_workers
  logging.info("Cluster from %s: %s %s:%d of %d training workers and %d ps tasks "
               "(%s)", cluster.source, cluster.role, cluster.task_type,
               cluster.task_index, cluster.num_workers, cluster.num_ps,
               "parameter servers" if cluster.mode == "ps"
               else "MultiWorkerMirroredStrategy")
  return cluster


def main(unused_argv):
  if not FLAGS.dataset_dir:
    raise app.UsageError("You must supply the dataset directory with --dataset_dir")
  cluster = resolve_cluster()
  if cluster is not None and cluster.role == "evaluator":
    run_evaluator()
    return
  if cluster is not None and cluster.mode == "ps":
    from deployment import cluster as cluster_lib
    server = cluster_lib.start_server(cluster)
    if cluster.role == "ps":
      logging.info("Parameter server %d serving at %s until killed",
                   cluster.task_index, server.target)
      server.join()
      return
    FLAGS.master = server.target
  config = dataclasses.replace(config_from_flags(FLAGS), cluster=cluster)
  result = train.build_and_train(config)
  logging.info("Training finished: %s", result)


if __name__ == "__main__":
  cli.run(main)
