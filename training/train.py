"""The training loop behind train_image_classifier.py (TF-Slim semantics).

Graph mode (tf.compat.v1) with a MonitoredTrainingSession:
  * checkpoints ``<train_dir>/model.ckpt-<step>`` every ``save_interval_secs``
    and at the end; a run started again with the same train_dir resumes from
    the latest one (global step included) and then ignores --checkpoint_path;
  * TensorBoard summaries every ``save_summaries_secs``: total_loss, every
    loss term (losses/...), regularization_loss, learning_rate, accuracy of
    the training batch, input images after preprocessing, optional
    histograms of activations and weights;
  * a log line every ``log_every_n_steps``: step, loss, images/s, ETA.

Batch-norm statistics of frozen layers: with --trainable_scopes only those
variables receive gradients, but tf_slim nets run every batch-norm layer in
training mode, so (as in TF-Slim) the moving mean/variance of frozen layers
keep being updated from the new data, and their forward pass normalises with
batch statistics. With ``freeze_batch_norm=True`` batch norm outside
--trainable_scopes runs in inference mode (moving mean/variance, no update
op; Keras fine-tuning semantics, see nets_factory), so frozen layers compute
in training what they compute in evaluation, and every variable outside the
trainable scopes stays bit-identical to the checkpoint.

A NaN or Inf loss stops training before that step's weight update with
TrainingDivergedError; no checkpoint is written after it, so the last good
checkpoint in train_dir stays the latest.
"""
import contextlib
import dataclasses
import sys
import time
from typing import Optional

from absl import logging

import tf_compat
from flagdefs import option
from tf_compat import slim, tf
from datasets import dataset_factory
from deployment import cluster as cluster_lib
from datasets import input_pipeline
from deployment import model_deploy
from nets import model_spec
from deployment import precision as precision_lib
from nets import nets_factory
from training import losses as losses_lib
from training import optimizers
from training import provenance
from training import restore
from training import session_hooks

NAN_MESSAGE = "slim-med: total loss is NaN or Inf"


class TrainingDivergedError(RuntimeError):
  pass


@dataclasses.dataclass
class TrainConfig:
  """A training run. Each ``option(...)`` field IS its train_image_classifier.py
  flag (same name, TF-Slim's default and help; flagdefs.py defines the flags
  and builds this from them), ``optimizer``'s included. The other fields
  (preprocessing_options, flag_values, cluster) are not flags: the script
  sets them."""
  train_dir: str = option(
      "Directory where checkpoints and event logs are written to.",
      flag_default="/tmp/tfmodel/")
  dataset_dir: str = option(
      "The directory where the dataset files are stored (the converter's "
      "output, or the folder above its tfrecords/).", flag_default=None)
  dataset_name: Optional[str] = option(
      "The name of the dataset to load (checked against dataset_info.json; "
      "optional).", default=None)
  dataset_split_name: str = option("The name of the train/test split.",
                                   default="train")
  model_name: str = option("The name of the architecture to train.",
                           default="inception_v3")
  preprocessing_name: Optional[str] = option(
      "The name of the preprocessing to use (TF-Slim names, or the medical "
      "presets xray, fundus, oct). If left as None, then the model_name flag "
      "is used.", default=None)
  # Not a flag: the preprocessing option flags (model_spec.PreprocessingFlags).
  preprocessing_options: dict = dataclasses.field(default_factory=dict)
  depth_multiplier: Optional[float] = option(
      "slim-med: thins InceptionV2/V3 (1.0 = official size, what published "
      "checkpoints need).", default=None)
  train_image_size: Optional[int] = option(
      "Train image size (default: the net's; larger than 299 works for "
      "InceptionV3).", default=None)
  batch_size: int = option("The number of samples in each batch (per clone).",
                           default=32)
  max_number_of_steps: Optional[int] = option(
      "The maximum number of training steps (absolute global step); absent = "
      "train until stopped.", default=None)
  checkpoint_path: Optional[str] = option(
      "The path to a checkpoint from which to fine-tune (a file/prefix or a "
      "directory: its latest).", default=None)
  checkpoint_exclude_scopes: Optional[str] = option(
      "Comma-separated list of scopes of variables to exclude when restoring "
      "from a checkpoint.", default=None)
  trainable_scopes: Optional[str] = option(
      "Comma-separated list of scopes to filter the set of variables to "
      "train. By default, None would train all the variables.", default=None)
  ignore_missing_vars: bool = option(
      "When restoring a checkpoint would ignore missing variables.",
      default=False)
  freeze_batch_norm: bool = option(
      "slim-med: batch norm of layers outside --trainable_scopes runs in "
      "inference mode (normalises with the checkpoint's moving mean/variance "
      "and never updates them, as Keras fine-tuning does), so frozen layers "
      "compute in training what they compute in evaluation and stay "
      "bit-identical to the checkpoint; layers inside --trainable_scopes keep "
      "training-mode batch norm. InceptionV1-3 and ResNet v1; ResNet v2 only "
      "with its pre-activation batch norms outside --trainable_scopes (e.g. "
      "resnet_v2_50/logits).", default=False)
  batch_norm_decay: Optional[float] = option(
      "slim-med: moving-average decay of batch norm (default the net's, "
      "0.9997 for InceptionV3; lower it for short runs from scratch).",
      default=None)
  weight_decay: float = option("The weight decay on the model weights.",
                               default=0.00004)
  label_smoothing: float = option("The amount of label smoothing.", default=0.0)
  class_weights: Optional[str] = option(
      "slim-med: 'auto' (N/(K*n_c) from the split's class counts; for "
      "multi-label, positive weight negatives/N and negative weight "
      "positives/N per finding) or comma-separated weights per class.",
      default=None)
  focal_gamma: float = option("slim-med: focal-loss gamma (0 = cross-entropy).",
                              default=0.0)
  aux_loss_weight: float = option(
      "slim-med: weight of the AuxLogits loss (InceptionV3); 0 disables it.",
      default=0.4)
  moving_average_decay: Optional[float] = option(
      "The decay to use for the moving average. If left as None, then moving "
      "averages are not used.", default=None)
  labels_offset: int = option(
      "An offset for the labels in the dataset. This flag is primarily used "
      "to evaluate the VGG and ResNet architectures which do not use a "
      "background class for the ImageNet dataset. The dataset's first N "
      "classes are a background the net does not model: it gets num_classes "
      "- N outputs, labels are shifted down by N, and a split with examples "
      "of those classes is refused.", default=0)
  balanced_sampling: bool = option(
      "slim-med: sample classes uniformly (single-label data).", default=False)
  # Its option fields are flags too (TF-Slim's optimizer and learning-rate ones).
  optimizer: optimizers.OptimizerParams = dataclasses.field(
      default_factory=optimizers.OptimizerParams)
  save_interval_secs: int = option(
      "The frequency with which the model is saved, in seconds.", default=600)
  save_summaries_secs: int = option(
      "The frequency with which summaries are saved, in seconds.", default=600)
  log_every_n_steps: int = option(
      "The frequency with which logs are printed.", default=10)
  max_checkpoints_to_keep: int = option("slim-med: recent checkpoints kept.",
                                        default=5)
  num_image_summaries: int = option(
      "slim-med: input images shown in TensorBoard (0 = none).", default=3)
  save_graph: bool = option("slim-med: write graph.pbtxt and .meta files.",
                            default=True)
  histogram_summaries: bool = option(
      "slim-med: also write activation and weight histograms.", default=False)
  num_readers: int = option(
      "The number of parallel readers that read data from the dataset.",
      default=4)
  num_preprocessing_threads: int = option(
      "The number of threads used to create the batches.", default=4)
  num_clones: int = option(
      "Number of model clones to deploy. Note For historical reasons loss "
      "from all clones averaged out and learning rate decay happen per clone "
      "epochs", default=1)
  clone_on_cpu: bool = option("Use CPUs to deploy clones.", default=False)
  master: str = option("The address of the TensorFlow master to use.",
                       default="")
  task: int = option("Task id of the replica running the training.", default=0)
  num_ps_tasks: int = option(
      "The number of parameter servers. If the value is 0, then the "
      "parameters are handled locally by the worker.", default=0)
  worker_replicas: int = option("Number of worker replicas.", default=1)
  sync_replicas: bool = option(
      "Whether or not to synchronize the replicas during training.",
      default=False)
  replicas_to_aggregate: int = option(
      "The Number of gradients to collect before updating params.", default=1)
  seed: Optional[int] = option("slim-med: graph-level random seed.",
                               default=None)
  mixed_precision: bool = option(
      "slim-med: 16-bit compute, float32 variables: bfloat16 (oneDNN "
      "rewrite) on CPUs with AVX512-BF16/AMX, float16 with dynamic loss "
      "scaling on GPUs; elsewhere a warning and float32 "
      "(deployment/precision.py).", default=False)
  xla: bool = option(
      "slim-med: XLA auto-clustering (GPU; on CPU only with "
      "TF_XLA_FLAGS=--tf_xla_cpu_global_jit).", default=False)
  # --- Not flags: set by the script (or a test), never parsed. ---
  # Every flag of the script with its value, recorded in flags.json.
  flag_values: dict = dataclasses.field(default_factory=dict)
  # deployment.cluster.ClusterConfig from TF_CONFIG or --ps_hosts/--worker_hosts
  # (None: TF-Slim's --master/--task/--num_ps_tasks or a single machine).
  cluster: Optional[object] = None


def _strip_clone(name):
  if name.startswith("clone_"):
    return name.split("/", 1)[1] if "/" in name else name
  return name


def _add_summaries(total_loss, learning_rate, accuracy, images, end_points,
                   config, regularization_loss, first_clone_scope, collections):
  summary = tf.compat.v1.summary
  out = [summary.scalar("total_loss", total_loss, collections=collections),
         summary.scalar("learning_rate", learning_rate, collections=collections),
         summary.scalar("accuracy", accuracy, collections=collections)]
  if regularization_loss is not None:
    out.append(summary.scalar("regularization_loss", regularization_loss,
                              collections=collections))
  for loss in tf.compat.v1.losses.get_losses(scope=first_clone_scope or None):
    out.append(summary.scalar("losses/%s" % _strip_clone(loss.op.name), loss,
                              collections=collections))
  if config.num_image_summaries:
    # Preprocessed images are in the net's range; show them in [0, 1].
    low = tf.reduce_min(images)
    shown = (images - low) / tf.maximum(tf.reduce_max(images) - low, 1e-6)
    out.append(summary.image("input_images", shown,
                             max_outputs=config.num_image_summaries,
                             collections=collections))
  if config.histogram_summaries:
    for name, tensor in end_points.items():
      out.append(summary.histogram("activations/" + name, tensor,
                                   collections=collections))
      out.append(summary.scalar("sparsity/" + name, tf.nn.zero_fraction(tensor),
                                collections=collections))
    for var in slim.get_model_variables():
      out.append(summary.histogram(var.op.name, var, collections=collections))
  return out


def add_training_summaries(first_clone, multilabel, total_loss, learning_rate,
                           config, first_clone_scope, collections=None):
  """The run's TensorBoard summaries, with the first clone's batch accuracy
  (every training path: local, ps, all-reduce); returns the summary tensors,
  also added to ``collections`` (default: GraphKeys.SUMMARIES)."""
  labels = first_clone.outputs["labels"]
  logits = first_clone.outputs["logits"]
  if multilabel:
    accuracy = tf.reduce_mean(tf.cast(
        tf.equal(tf.cast(logits > 0, tf.int64), labels), tf.float32))
  else:
    accuracy = tf.reduce_mean(tf.cast(
        tf.equal(tf.argmax(logits, 1), labels), tf.float32))
  reg = tf.compat.v1.losses.get_regularization_losses()
  return _add_summaries(total_loss, learning_rate, accuracy,
                        first_clone.outputs["images"],
                        first_clone.outputs["end_points"], config,
                        tf.add_n(reg) if reg else None, first_clone_scope,
                        collections)


def gated_training_summaries(first_clone, multilabel, total_loss, learning_rate,
                             config, first_clone_scope):
  """add_training_summaries, computed only in the runs that feed True to
  ``write``: returns (the serialized Summary, "" when not written; ``write``,
  a boolean placeholder that defaults to False).

  The training step can then fetch the same tensors at every step (see
  session_hooks.SummaryHook), so TensorFlow builds and optimises its graph
  once instead of once for the steps with summaries and once for the others.
  The summaries are built inside the condition's branch (out of every
  collection; tags as add_training_summaries'): a step that does not write
  them does not compute them either.
  """
  write = tf.compat.v1.placeholder_with_default(False, [], name="write_summaries")

  def summaries():
    return tf.compat.v1.summary.merge(
        add_training_summaries(first_clone, multilabel, total_loss, learning_rate,
                               config, first_clone_scope, collections=[]),
        collections=[])

  summary = tf.cond(write, summaries, lambda: tf.constant(""), name="summaries")
  return summary, write


def training_dataset_options():
  """tf.data options of the training input (train and bench/train.py).

  No autotuning model: every parallelism of the pipeline is a flag
  (--num_readers, --num_preprocessing_threads) and the prefetch buffer tunes
  itself without the model, which only had a thread to run, and that thread
  is not woken when the session closes: closing waited for the rest of its
  current sleep (0.1-4.4 s measured after a 5-step run; the sleep doubles
  from 10 ms up to TensorFlow's 60 s optimisation period, so a long run's
  close can wait longer).
  """
  options = tf.data.Options()
  options.autotune.enabled = False
  return options


class _LogHook(tf.compat.v1.train.SessionRunHook):
  """Logs step, loss, images/s (and ETA) every ``every_n`` steps."""

  def __init__(self, every_n, images_per_step, max_steps):
    self._every_n = max(1, int(every_n))
    self._images_per_step = images_per_step
    self._max_steps = max_steps
    self._last = None

  def after_step(self, step, loss):
    now = time.time()
    if self._last is None:
      self._last = (now, step)
      logging.info("global step %d: loss = %.4f (first step)", step, loss)
      return
    if step % self._every_n:
      return
    then, then_step = self._last
    elapsed = max(now - then, 1e-9)
    steps = max(step - then_step, 1)
    rate = steps * self._images_per_step / elapsed
    eta = ""
    if self._max_steps:
      remaining = max(self._max_steps - step, 0) * elapsed / steps
      eta = ", ETA %s" % time.strftime("%H:%M:%S", time.gmtime(remaining))
    logging.info("global step %d: loss = %.4f (%.1f images/s; %.3f s/step%s)",
                 step, loss, rate, elapsed / steps, eta)
    self._last = (now, step)


def network_and_inputs(config: TrainConfig, spec, split, deploy=None):
  """The training net fn (frozen batch norm outside --trainable_scopes with
  --freeze_batch_norm) and the iterator over training batches, built from the
  model spec: one build for the local, ps and all-reduce paths."""
  bn_training_scopes = None   # None: batch norm follows is_training (TF-Slim)
  if config.freeze_batch_norm and config.trainable_scopes:
    bn_training_scopes = restore.split_scopes(config.trainable_scopes)
  network_fn = nets_factory.get_network_fn(
      spec.model_name, num_classes=spec.num_outputs,
      weight_decay=config.weight_decay, is_training=True,
      depth_multiplier=spec.depth_multiplier,
      batch_norm_decay=config.batch_norm_decay,
      batch_norm_training_scopes=bn_training_scopes)
  network_fn.batch_norm_training_scopes = bn_training_scopes
  placement = (tf.device(deploy.inputs_device()) if deploy is not None
               else contextlib.nullcontext())
  with placement:
    dataset = input_pipeline.make_dataset(
        split, spec.preprocess_fn(is_training=True), spec.image_size,
        config.batch_size, is_training=True, num_readers=config.num_readers,
        num_parallel_calls=config.num_preprocessing_threads,
        labels_offset=config.labels_offset, seed=config.seed,
        balanced_sampling=config.balanced_sampling)
    dataset = dataset.with_options(training_dataset_options())
    iterator = tf.compat.v1.data.make_one_shot_iterator(dataset)
  return network_fn, iterator


def make_clone_fn(iterator, network_fn, loss_config, aux_loss_weight):
  """clone_fn(index) for model_deploy.create_clones: one batch through the net,
  the losses added (AuxLogits weighted by ``aux_loss_weight``)."""

  def clone_fn(unused_index):
    batch = iterator.get_next()
    images, labels = batch["images"], batch["labels"]
    logits, end_points = network_fn(images)
    if "AuxLogits" in end_points and aux_loss_weight:
      loss_config.add(end_points["AuxLogits"], labels,
                      loss_weight=aux_loss_weight, scope="aux_loss")
    loss_config.add(logits, labels, scope="loss")
    return {"images": images, "labels": labels, "logits": logits,
            "end_points": end_points}

  return clone_fn


def build_and_train(config: TrainConfig):
  """Trains; returns {'global_step', 'loss'} of the last step and 'steps_run'."""
  if not config.train_dir:
    raise ValueError("You must supply the train directory with --train_dir")
  precision = precision_lib.choose(config.mixed_precision,
                                   use_gpu=not config.clone_on_cpu)
  if precision.loss_scaling and config.sync_replicas:
    raise ValueError("--mixed_precision on GPUs (float16) with --sync_replicas "
                     "is not supported (TensorFlow's loss-scale optimizer cannot "
                     "wrap SyncReplicasOptimizer's session hook); drop one of them")
  precision_lib.log(precision)
  split = dataset_factory.get_split(config.dataset_name, config.dataset_split_name,
                                    config.dataset_dir)
  if config.cluster is not None:   # this worker's shards
    split = cluster_lib.worker_split(config.cluster, split)
  net = nets_factory.get_spec(config.model_name)
  # The model contract, resolved once: the graph below, eval, predict, export
  # and a resumed run are all built from it.
  spec = model_spec.build(
      config.model_name, split.info, labels_offset=config.labels_offset,
      depth_multiplier=config.depth_multiplier,
      image_size=config.train_image_size,
      preprocessing_name=config.preprocessing_name,
      preprocessing_options=config.preprocessing_options,
      moving_average_decay=config.moving_average_decay,
      mixed_precision=config.mixed_precision)
  input_pipeline.check_labels_offset(split, config.labels_offset)
  latest = tf.train.latest_checkpoint(config.train_dir)
  if latest:
    model_spec.check_resume(spec, config.train_dir)   # before anything is written
  loss_config = losses_lib.LossConfig(split, config.class_weights,
                                      config.label_smoothing, config.focal_gamma,
                                      config.aux_loss_weight,
                                      labels_offset=config.labels_offset)
  deploy = model_deploy.DeploymentConfig(
      num_clones=config.num_clones, clone_on_cpu=config.clone_on_cpu,
      replica_id=config.task, num_replicas=config.worker_replicas,
      num_ps_tasks=config.num_ps_tasks)
  if config.cluster is not None:
    deploy = cluster_lib.deployment(config.cluster, deploy, config)
  if deploy.is_chief:
    provenance.write(config.train_dir, config.flag_values or dataclasses.asdict(config),
                     split.dataset_dir,
                     extra={"num_train_examples": split.num_samples,
                            "loss": loss_config.describe(),
                            "precision": precision.policy})
    model_spec.write(spec, config.train_dir)
  opt_params = dataclasses.replace(config.optimizer, batch_size=config.batch_size,
                                   sync_replicas=config.sync_replicas,
                                   replicas_to_aggregate=config.replicas_to_aggregate,
                                   max_number_of_steps=config.max_number_of_steps)
  if config.cluster is not None and config.cluster.mode == "mwms":
    # No ps job: all-reduce between workers (training/multi_worker.py).
    from training import multi_worker
    return multi_worker.train(config, split, spec, net, loss_config, opt_params,
                              latest, sys.modules[__name__])

  with tf.Graph().as_default() as graph, tf_compat.GraphConstruction() as building:
    if config.seed is not None:
      tf.compat.v1.set_random_seed(config.seed)
    with model_deploy.device_scope(deploy):
      global_step = tf.compat.v1.train.get_or_create_global_step()
      network_fn, iterator = network_and_inputs(config, spec, split, deploy)
      image_size = spec.image_size
      clone_fn = make_clone_fn(iterator, network_fn, loss_config,
                               config.aux_loss_weight)

      try:
        clones = model_deploy.create_clones(deploy, clone_fn)
      except ValueError as err:
        if "Negative dimension" not in str(err):
          raise
        raise ValueError(
            "--train_image_size=%d is too small for %s (a pooling window no "
            "longer fits; InceptionV3 with its AuxLogits head needs >= 107 "
            "pixels, its default is %d)" % (image_size, config.model_name,
                                            network_fn.default_image_size)) from None
      first = clones[0]
      first_scope = first.scope.rstrip("/") if first.scope else ""

      # Restore map is checked now: shape errors surface before training.
      init_fn = None
      if config.checkpoint_path and not latest:   # a resumed run never reads it
        init_fn = restore.make_init_fn(config.checkpoint_path,
                                       config.checkpoint_exclude_scopes,
                                       config.ignore_missing_vars,
                                       logits_scopes=net.logits_scopes)

      update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS,
                                               first_scope or None)
      if network_fn.batch_norm_training_scopes is not None:
        trained, frozen = nets_factory.check_batch_norm_modes(
            slim.get_model_variables(), update_ops,
            network_fn.batch_norm_training_scopes)
        logging.info("--freeze_batch_norm: %d batch-norm layers in inference "
                     "mode, %d (inside --trainable_scopes) in training mode",
                     len(frozen), len(trained))

      variable_averages = None
      variables_to_average = None
      if config.moving_average_decay:
        variable_averages = tf.compat.v1.train.ExponentialMovingAverage(
            config.moving_average_decay, global_step)
        variables_to_average = slim.get_model_variables()

      with tf.device(deploy.optimizer_device()):
        learning_rate = optimizers.configure_learning_rate(
            split.num_samples, global_step, opt_params)
        optimizer = optimizers.configure_optimizer(learning_rate, opt_params)
      sync_optimizer = None
      if config.sync_replicas:
        optimizer = sync_optimizer = tf.compat.v1.train.SyncReplicasOptimizer(
            optimizer, replicas_to_aggregate=config.replicas_to_aggregate,
            total_num_replicas=config.worker_replicas,
            variable_averages=variable_averages,
            variables_to_average=variables_to_average)
      elif variable_averages is not None:
        update_ops.append(variable_averages.apply(variables_to_average))
      optimizer = precision_lib.wrap_optimizer(optimizer, precision)

      var_list = restore.variables_to_train(config.trainable_scopes)
      total_loss, grads_and_vars = model_deploy.optimize_clones(
          clones, optimizer, var_list)
      checked_loss = tf.debugging.check_numerics(total_loss, NAN_MESSAGE)
      with tf.control_dependencies([checked_loss]):
        grad_updates = optimizer.apply_gradients(grads_and_vars,
                                                 global_step=global_step)
        train_op = tf.group(grad_updates, *update_ops, name="train_op")
      with tf.control_dependencies([train_op]):
        loss_after = tf.identity(total_loss, name="train_loss")
        step_after = tf.identity(global_step.read_value(), name="step_after")

      write_summaries = bool(deploy.is_chief and config.save_summaries_secs
                             and config.save_summaries_secs > 0)
      if write_summaries:
        summary, write = gated_training_summaries(
            first, split.multilabel, total_loss, learning_rate, config, first_scope)

    saver = session_hooks.Saver(max_to_keep=config.max_checkpoints_to_keep,
                                sharded=config.num_ps_tasks > 0)
    # One readiness check before and after the local init op (global variables
    # initialised; local variables are what that op initialises): one callable
    # to build and optimise instead of two.
    ready = tf.compat.v1.report_uninitialized_variables(
        tf.compat.v1.global_variables())
    scaffold = tf.compat.v1.train.Scaffold(init_fn=init_fn, saver=saver,
                                           ready_op=ready,
                                           ready_for_local_init_op=ready)
    hooks = []
    writer = None
    save_checkpoints = (deploy.is_chief and config.save_interval_secs
                        and config.save_interval_secs > 0)
    if write_summaries or save_checkpoints or (deploy.is_chief and config.save_graph):
      writer = tf.compat.v1.summary.FileWriter(config.train_dir)
    if write_summaries:
      hooks.append(session_hooks.SummaryHook(summary, write, step_after, writer,
                                             config.save_summaries_secs))
    if deploy.is_chief and config.save_graph:
      hooks.append(session_hooks.GraphWriterHook(writer, config.train_dir, saver))
    if config.max_number_of_steps:
      hooks.append(tf.compat.v1.train.StopAtStepHook(last_step=config.max_number_of_steps))
    if config.sync_replicas:
      hooks.append(sync_optimizer.make_session_run_hook(deploy.is_chief))
    if save_checkpoints:
      hooks.append(session_hooks.CheckpointSaverHook(
          config.train_dir, save_secs=config.save_interval_secs, scaffold=scaffold,
          save_graph_def=config.save_graph, summary_writer=writer))
    session_config = precision_lib.session_config(precision)
    if config.cluster is not None:
      session_config.device_filters.extend(config.cluster.device_filters())
    if config.xla:
      session_config.graph_options.optimizer_options.global_jit_level = (
          tf.compat.v1.OptimizerOptions.ON_1)
    if config.cluster is not None and not deploy.is_chief:
      cluster_lib.wait_for_chief(config.master, session_config)
    log_hook = _LogHook(config.log_every_n_steps,
                        config.batch_size * config.num_clones,
                        config.max_number_of_steps)
    if latest:
      logging.info("Resuming from %s (--checkpoint_path is not used)", latest)
    building.end()
    step, loss, steps_run = None, None, 0
    try:
      with tf.compat.v1.train.MonitoredTrainingSession(
          master=config.master, is_chief=deploy.is_chief,
          checkpoint_dir=config.train_dir, scaffold=scaffold, hooks=hooks,
          save_checkpoint_secs=None,   # session_hooks.CheckpointSaverHook
          save_summaries_secs=None, save_summaries_steps=None,   # SummaryHook
          log_step_count_steps=None, config=session_config,
          save_graph_def=config.save_graph,
          stop_grace_period_secs=deploy.stop_grace_period_secs) as sess:
        while not sess.should_stop():
          loss, step = sess.run([loss_after, step_after])
          steps_run += 1
          log_hook.after_step(int(step), float(loss))
    except tf.errors.InvalidArgumentError as err:
      if NAN_MESSAGE not in str(err.message):
        raise
      good = tf.train.latest_checkpoint(config.train_dir)
      raise TrainingDivergedError(
          "Training diverged: the loss became NaN or Inf after global step %s. "
          "Stopped before applying that update; the last good checkpoint is %s. "
          "Lower --learning_rate, check the input data, or (with "
          "--mixed_precision) disable it." % (step if step is not None else "0",
                                              good or "none (no checkpoint yet)")
      ) from None
    finally:
      if writer is not None:
        writer.close()
    if step is not None:
      logging.info("Finished at global step %d, loss %.4f", step, loss)
    return {"global_step": None if step is None else int(step),
            "loss": None if loss is None else float(loss),
            "steps_run": steps_run}
