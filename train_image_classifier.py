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
from tf_compat import tf  # noqa: F401  (installs the tf_slim compatibility alias)
from nets import model_spec
from training import optimizers
from training import train

FLAGS = flags.FLAGS
_FLAGS_BEFORE = set(FLAGS)

# --- Deployment / cluster (TF-Slim) ---
flags.DEFINE_string("master", "", "The address of the TensorFlow master to use.")
flags.DEFINE_string("train_dir", "/tmp/tfmodel/",
                    "Directory where checkpoints and event logs are written to.")
flags.DEFINE_integer("num_clones", 1, "Number of model clones to deploy. Note For "
                     "historical reasons loss from all clones averaged out and "
                     "learning rate decay happen per clone epochs")
flags.DEFINE_boolean("clone_on_cpu", False, "Use CPUs to deploy clones.")
flags.DEFINE_integer("worker_replicas", 1, "Number of worker replicas.")
flags.DEFINE_integer("num_ps_tasks", 0, "The number of parameter servers. If the "
                     "value is 0, then the parameters are handled locally by the worker.")
flags.DEFINE_integer("num_readers", 4, "The number of parallel readers that read "
                     "data from the dataset.")
flags.DEFINE_integer("num_preprocessing_threads", 4,
                     "The number of threads used to create the batches.")
flags.DEFINE_integer("log_every_n_steps", 10, "The frequency with which logs are printed.")
flags.DEFINE_integer("save_summaries_secs", 600,
                     "The frequency with which summaries are saved, in seconds.")
flags.DEFINE_integer("save_interval_secs", 600,
                     "The frequency with which the model is saved, in seconds.")
flags.DEFINE_integer("task", 0, "Task id of the replica running the training.")
# slim-med: start this process's server of a cluster (ClusterSpec/Server).
flags.DEFINE_list("ps_hosts", [], "slim-med: parameter servers host:port; with "
                  "--worker_hosts and --job_name starts this process's server "
                  "and uses it as --master.")
flags.DEFINE_list("worker_hosts", [], "slim-med: workers host:port (see --ps_hosts).")
flags.DEFINE_enum("job_name", None, ["ps", "worker"],
                  "slim-med: this process's job in --ps_hosts/--worker_hosts; "
                  "'ps' serves variables until killed. The environment "
                  "variable TF_CONFIG, when set, describes the cluster instead "
                  "(see README 'Scaling out').")
flags.DEFINE_string("worker_scratch_dir", None, "slim-med: a cluster without "
                    "a ps job (MultiWorkerMirroredStrategy): where non-chief "
                    "workers save the checkpoints they must write (only the "
                    "chief writes --train_dir); default a temporary directory "
                    "removed at the end.")
# slim-med: a cluster's evaluator task (TF_CONFIG task type 'evaluator') runs
# eval_image_classifier.py --checkpoint_path=<train_dir> --eval_interval_secs
# with these flags (its --dataset_split_name/--batch_size are named
# --eval_split_name/--eval_batch_size here); the model comes from the chief's
# model_spec.json, so no model flags are needed.
flags.DEFINE_string("eval_split_name", "validation", "slim-med, evaluator task: "
                    "the split evaluated.")
flags.DEFINE_integer("eval_batch_size", 100, "slim-med, evaluator task: "
                     "examples per batch.")
flags.DEFINE_string("eval_dir", None, "slim-med, evaluator task: where reports "
                    "and summaries go; default <train_dir>/eval_<split>.")
flags.DEFINE_float("eval_interval_secs", 60, "slim-med, evaluator task: poll "
                   "--train_dir this often and evaluate each new checkpoint once.")
flags.DEFINE_float("timeout", None, "slim-med, evaluator task: stop after this "
                   "many seconds without a new checkpoint (it stops anyway after "
                   "the checkpoint of --max_number_of_steps).")
flags.DEFINE_integer("max_num_batches", None, "slim-med, evaluator task: "
                     "evaluate at most this many batches.")
flags.DEFINE_enum("select_by", "kappa", ["kappa", "auc", "accuracy"],
                  "slim-med, evaluator task: metric naming the best checkpoint.")
flags.DEFINE_integer("bootstrap", 0, "slim-med, evaluator task: resamples for "
                     "95% confidence intervals.")
flags.DEFINE_float("threshold", 0.5, "slim-med, evaluator task: decision "
                   "threshold of binary and multi-label tasks.")
flags.DEFINE_integer("top_k", 5, "slim-med, evaluator task: k of top-k accuracy.")

# --- Optimization (TF-Slim) ---
flags.DEFINE_float("weight_decay", 0.00004, "The weight decay on the model weights.")
flags.DEFINE_enum("optimizer", "rmsprop", list(optimizers.OPTIMIZERS),
                  "The name of the optimizer.")
flags.DEFINE_float("adadelta_rho", 0.95, "The decay rate for adadelta.")
flags.DEFINE_float("adagrad_initial_accumulator_value", 0.1,
                   "Starting value for the AdaGrad accumulators.")
flags.DEFINE_float("adam_beta1", 0.9, "The exponential decay rate for the 1st moment estimates.")
flags.DEFINE_float("adam_beta2", 0.999, "The exponential decay rate for the 2nd moment estimates.")
flags.DEFINE_float("opt_epsilon", 1.0, "Epsilon term for the optimizer.")
flags.DEFINE_float("ftrl_learning_rate_power", -0.5, "The learning rate power.")
flags.DEFINE_float("ftrl_initial_accumulator_value", 0.1,
                   "Starting value for the FTRL accumulators.")
flags.DEFINE_float("ftrl_l1", 0.0, "The FTRL l1 regularization strength.")
flags.DEFINE_float("ftrl_l2", 0.0, "The FTRL l2 regularization strength.")
flags.DEFINE_float("momentum", 0.9, "The momentum for the MomentumOptimizer and RMSPropOptimizer.")
flags.DEFINE_float("rmsprop_momentum", 0.9, "Momentum.")
flags.DEFINE_float("rmsprop_decay", 0.9, "Decay term for RMSProp.")

# --- Learning rate (TF-Slim; 'cosine' added) ---
flags.DEFINE_enum("learning_rate_decay_type", "exponential", list(optimizers.DECAY_TYPES),
                  "Specifies how the learning rate is decayed: fixed, exponential, "
                  "polynomial, or cosine (half cosine to --end_learning_rate over "
                  "--max_number_of_steps).")
flags.DEFINE_float("learning_rate", 0.01, "Initial learning rate.")
flags.DEFINE_float("end_learning_rate", 0.0001,
                   "The minimal end learning rate used by a polynomial (or cosine) decay.")
flags.DEFINE_float("label_smoothing", 0.0, "The amount of label smoothing.")
flags.DEFINE_float("learning_rate_decay_factor", 0.94, "Learning rate decay factor.")
flags.DEFINE_float("num_epochs_per_decay", 2.0,
                   "Number of epochs after which learning rate decays (epoch = the "
                   "split's real number of examples from dataset_info.json).")
flags.DEFINE_bool("sync_replicas", False,
                  "Whether or not to synchronize the replicas during training.")
flags.DEFINE_integer("replicas_to_aggregate", 1,
                     "The Number of gradients to collect before updating params.")
flags.DEFINE_float("moving_average_decay", None, "The decay to use for the moving "
                   "average. If left as None, then moving averages are not used.")

# --- Dataset (TF-Slim) ---
flags.DEFINE_string("dataset_name", None, "The name of the dataset to load "
                    "(checked against dataset_info.json; optional).")
flags.DEFINE_string("dataset_split_name", "train", "The name of the train/test split.")
flags.DEFINE_string("dataset_dir", None, "The directory where the dataset files are "
                    "stored (the converter's output, or the folder above its tfrecords/).")
flags.DEFINE_integer("labels_offset", 0, "An offset for the labels in the dataset. "
                     "This flag is primarily used to evaluate the VGG and ResNet "
                     "architectures which do not use a background class for the "
                     "ImageNet dataset. The dataset's first N classes are a "
                     "background the net does not model: it gets num_classes - N "
                     "outputs, labels are shifted down by N, and a split with "
                     "examples of those classes is refused.")
flags.DEFINE_string("model_name", "inception_v3", "The name of the architecture to train.")
flags.DEFINE_string("preprocessing_name", None, "The name of the preprocessing to use "
                    "(TF-Slim names, or the medical presets xray, fundus, oct). If "
                    "left as None, then the model_name flag is used.")
flags.DEFINE_integer("batch_size", 32, "The number of samples in each batch (per clone).")
flags.DEFINE_integer("train_image_size", None, "Train image size (default: the "
                     "net's; larger than 299 works for InceptionV3).")
flags.DEFINE_integer("max_number_of_steps", None, "The maximum number of training "
                     "steps (absolute global step); absent = train until stopped.")
flags.DEFINE_bool("use_grayscale", False, "Whether to convert input images to grayscale.")

# --- Fine-tuning (TF-Slim) ---
flags.DEFINE_string("checkpoint_path", None, "The path to a checkpoint from which "
                    "to fine-tune (a file/prefix or a directory: its latest).")
flags.DEFINE_string("checkpoint_exclude_scopes", None, "Comma-separated list of "
                    "scopes of variables to exclude when restoring from a checkpoint.")
flags.DEFINE_string("trainable_scopes", None, "Comma-separated list of scopes to "
                    "filter the set of variables to train. By default, None would "
                    "train all the variables.")
flags.DEFINE_boolean("ignore_missing_vars", False,
                     "When restoring a checkpoint would ignore missing variables.")

# --- slim-med additions ---
flags.DEFINE_float("depth_multiplier", None, "slim-med: thins InceptionV2/V3 (1.0 = "
                   "official size, what published checkpoints need).")
flags.DEFINE_float("batch_norm_decay", None, "slim-med: moving-average decay of "
                   "batch norm (default the net's, 0.9997 for InceptionV3; lower it "
                   "for short runs from scratch).")
flags.DEFINE_boolean("freeze_batch_norm", False, "slim-med: batch norm of layers "
                     "outside --trainable_scopes runs in inference mode (normalises "
                     "with the checkpoint's moving mean/variance and never updates "
                     "them, as Keras fine-tuning does), so frozen layers compute in "
                     "training what they compute in evaluation and stay "
                     "bit-identical to the checkpoint; layers inside "
                     "--trainable_scopes keep training-mode batch norm. InceptionV1-3 "
                     "and ResNet v1; ResNet v2 only with its pre-activation batch "
                     "norms outside --trainable_scopes (e.g. resnet_v2_50/logits).")
flags.DEFINE_string("class_weights", None, "slim-med: 'auto' (N/(K*n_c) from the "
                    "split's class counts; for multi-label, positive weight "
                    "negatives/N and negative weight positives/N per finding) or "
                    "comma-separated weights per class.")
flags.DEFINE_boolean("balanced_sampling", False, "slim-med: sample classes uniformly "
                     "(single-label data).")
flags.DEFINE_float("focal_gamma", 0.0, "slim-med: focal-loss gamma (0 = cross-entropy).")
flags.DEFINE_float("aux_loss_weight", 0.4, "slim-med: weight of the AuxLogits loss "
                   "(InceptionV3); 0 disables it.")
flags.DEFINE_integer("seed", None, "slim-med: graph-level random seed.")
flags.DEFINE_boolean("mixed_precision", False, "slim-med: 16-bit compute, float32 "
                     "variables: bfloat16 (oneDNN rewrite) on CPUs with AVX512-BF16/AMX, "
                     "float16 with dynamic loss scaling on GPUs; elsewhere a warning "
                     "and float32 (deployment/precision.py).")
flags.DEFINE_boolean("xla", False, "slim-med: XLA auto-clustering (GPU; on CPU only "
                     "with TF_XLA_FLAGS=--tf_xla_cpu_global_jit).")
flags.DEFINE_boolean("histogram_summaries", False,
                     "slim-med: also write activation and weight histograms.")
flags.DEFINE_integer("num_image_summaries", 3, "slim-med: input images shown in "
                     "TensorBoard (0 = none).")
flags.DEFINE_integer("max_checkpoints_to_keep", 5, "slim-med: recent checkpoints kept.")
flags.DEFINE_boolean("save_graph", True, "slim-med: write graph.pbtxt and .meta files.")
# Augmentation options (None = the preprocessing preset's default).
flags.DEFINE_boolean("flip", None, "slim-med: random left-right flips (default per "
                     "preset: off for xray, on for fundus/oct/inception).")
flags.DEFINE_boolean("vertical_flip", None, "slim-med: random up-down flips.")
flags.DEFINE_float("rotation_degrees", None, "slim-med: random rotation range (+-deg).")
flags.DEFINE_float("shift_fraction", None, "slim-med: random shift (fraction of size).")
flags.DEFINE_float("brightness_delta", None, "slim-med: random brightness (+-, [0,1] scale).")
flags.DEFINE_list("contrast_range", None, "slim-med: random contrast 'lower,upper'.")
flags.DEFINE_boolean("per_image_standardization", None,
                     "slim-med: zero mean / unit variance per image.")
TRAINING_FLAGS = sorted(set(FLAGS) - _FLAGS_BEFORE)


def config_from_flags(f=FLAGS) -> train.TrainConfig:
  params = optimizers.OptimizerParams(**{
      field.name: getattr(f, field.name)
      for field in dataclasses.fields(optimizers.OptimizerParams)})
  return train.TrainConfig(
      train_dir=f.train_dir, dataset_dir=f.dataset_dir, dataset_name=f.dataset_name,
      dataset_split_name=f.dataset_split_name, model_name=f.model_name,
      preprocessing_name=f.preprocessing_name,
      preprocessing_options=model_spec.preprocessing_options_from_flags(
          flag_values(f)),
      depth_multiplier=f.depth_multiplier, train_image_size=f.train_image_size,
      batch_size=f.batch_size, max_number_of_steps=f.max_number_of_steps,
      checkpoint_path=f.checkpoint_path,
      checkpoint_exclude_scopes=f.checkpoint_exclude_scopes,
      trainable_scopes=f.trainable_scopes, ignore_missing_vars=f.ignore_missing_vars,
      freeze_batch_norm=f.freeze_batch_norm, batch_norm_decay=f.batch_norm_decay,
      weight_decay=f.weight_decay, label_smoothing=f.label_smoothing,
      class_weights=f.class_weights, focal_gamma=f.focal_gamma,
      aux_loss_weight=f.aux_loss_weight, moving_average_decay=f.moving_average_decay,
      labels_offset=f.labels_offset, balanced_sampling=f.balanced_sampling,
      optimizer=params, save_interval_secs=f.save_interval_secs,
      save_summaries_secs=f.save_summaries_secs, log_every_n_steps=f.log_every_n_steps,
      max_checkpoints_to_keep=f.max_checkpoints_to_keep,
      num_image_summaries=f.num_image_summaries, save_graph=f.save_graph,
      histogram_summaries=f.histogram_summaries, num_readers=f.num_readers,
      num_preprocessing_threads=f.num_preprocessing_threads,
      num_clones=f.num_clones, clone_on_cpu=f.clone_on_cpu, master=f.master,
      task=f.task, num_ps_tasks=f.num_ps_tasks, worker_replicas=f.worker_replicas,
      sync_replicas=f.sync_replicas, replicas_to_aggregate=f.replicas_to_aggregate,
      seed=f.seed, mixed_precision=f.mixed_precision, xla=f.xla,
      flag_values=flag_values(f))


def flag_values(f=FLAGS):
  """Every flag this script defines, with its value (for flags.json)."""
  return {name: f[name].value for name in TRAINING_FLAGS}


def run_evaluator():
  """The evaluator task: continuous evaluation of the chief's checkpoints."""
  from evaluation import checkpoints, evaluate
  if next(checkpoints.new_checkpoints(FLAGS.train_dir, FLAGS.eval_interval_secs,
                                      FLAGS.timeout), None) is None:
    return   # no checkpoint came within --timeout (logged)
  evaluate.run(evaluate.EvalOptions(
      checkpoint_path=FLAGS.train_dir, dataset_dir=FLAGS.dataset_dir,
      dataset_name=FLAGS.dataset_name, dataset_split_name=FLAGS.eval_split_name,
      eval_dir=FLAGS.eval_dir, batch_size=FLAGS.eval_batch_size,
      max_num_batches=FLAGS.max_num_batches,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      eval_interval_secs=FLAGS.eval_interval_secs, timeout=FLAGS.timeout,
      last_step=FLAGS.max_number_of_steps, select_by=FLAGS.select_by,
      bootstrap=FLAGS.bootstrap, threshold=FLAGS.threshold, top_k=FLAGS.top_k,
      progress=False))


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
