"""Synchronous data-parallel training between workers with all-reduce.

The branch of training/train.py for a cluster without a ``ps`` job
(deployment/cluster.py): ``tf.compat.v1.distribute.experimental.
MultiWorkerMirroredStrategy`` in graph mode. Every worker (the chief and
workers 0..n) builds the same graph:

  * its own shards of the split (deployment/cluster.worker_split), one model
    replica per worker, the step built inside ``call_for_each_replica`` with a
    TF1 optimizer, whose ``apply_gradients`` all-reduces the gradients (scaled
    here to their mean over workers, as one worker with the summed batch);
    batch-norm moving statistics are all-reduced too, so the weights are
    identical on every worker after every step;
  * a session on this task's gRPC server, initialised on every worker
    (``experimental_should_init``: the initialisers broadcast the chief's
    values), and a saver on every worker -- with a saver on the chief only the
    first step hangs. The chief checkpoints and writes summaries into
    --train_dir; the others save into a scratch directory that is removed at
    the end;
  * resuming: every worker restores the train_dir's latest checkpoint (the
    non-chiefs through their scratch directory's checkpoint state), so the
    train_dir must be readable by every worker (shared storage, as the
    chief's checkpoints must be for the evaluator anyway).
"""
import os
import shutil
import tempfile

from absl import logging

from tf_compat import tf, slim
from deployment import cluster as cluster_lib
from deployment import model_deploy
from training import optimizers, restore


def _scaled(grads_and_vars, factor):
  out = []
  for grad, var in grads_and_vars:
    if grad is None:
      out.append((grad, var))
    elif isinstance(grad, tf.IndexedSlices):
      out.append((tf.IndexedSlices(grad.values * factor, grad.indices,
                                   grad.dense_shape), var))
    else:
      out.append((grad * factor, var))
  return out


class _SummaryHook(tf.compat.v1.train.SessionRunHook):
  """Writes the summaries every ``secs`` from a session run of their own."""

  def __init__(self, summary_op, global_step, logdir, secs):
    self._op, self._step, self._logdir = summary_op, global_step, logdir
    self._timer = tf.compat.v1.train.SecondOrStepTimer(every_secs=secs)

  def begin(self):
    self._writer = tf.compat.v1.summary.FileWriterCache.get(self._logdir)

  def after_run(self, run_context, run_values):
    step = int(run_context.session.run(self._step))
    if self._timer.should_trigger_for_step(step):
      self._timer.update_last_triggered_step(step)
      self._writer.add_summary(run_context.session.run(self._op), step)

  def end(self, session):
    self._writer.flush()


def train(config, split, spec, net, loss_config, opt_params, latest, train_lib):
  """Trains this worker's part; returns what train.build_and_train returns.

  ``train_lib`` is training/train.py (its summaries, log hook and NaN check).
  """
  cluster_lib.check_mwms_config(config)
  cluster = config.cluster
  # Built eagerly, the strategy would start its own server for collectives;
  # in graph mode this task's server (below) runs them.
  tf.compat.v1.disable_eager_execution()
  strategy = cluster_lib.make_strategy(cluster)
  session_config = strategy.update_config_proto(
      tf.compat.v1.ConfigProto(allow_soft_placement=True))
  server = cluster_lib.start_server(cluster, session_config)
  is_chief = cluster.is_chief
  scratch = None
  checkpoint_dir = config.train_dir
  if not is_chief:
    if cluster.scratch_dir:
      checkpoint_dir = cluster.scratch_dir
      tf.io.gfile.makedirs(checkpoint_dir)
    else:
      checkpoint_dir = scratch = tempfile.mkdtemp(
          prefix="slim_med_%s%d_" % (cluster.task_type, cluster.task_index))
    state = os.path.join(checkpoint_dir, "checkpoint")
    if not latest and tf.io.gfile.exists(state):   # a kept scratch dir's
      tf.io.gfile.remove(state)
    if latest:   # restore what the chief restores
      tf.compat.v1.train.update_checkpoint_state(
          checkpoint_dir, os.path.abspath(latest), [os.path.abspath(latest)])
  num_workers = strategy.num_replicas_in_sync
  logging.info("MultiWorkerMirroredStrategy: %s %d of %d workers (%d shards "
               "here), checkpoints in %s", cluster.task_type, cluster.task_index,
               num_workers, len(split.files), checkpoint_dir)
  deploy = model_deploy.DeploymentConfig()

  with tf.Graph().as_default():
    if config.seed is not None:
      tf.compat.v1.set_random_seed(config.seed)
    with strategy.scope():
      global_step = tf.compat.v1.train.get_or_create_global_step()
      network_fn, iterator = train_lib.network_and_inputs(config, spec, split)
      learning_rate = optimizers.configure_learning_rate(
          split.num_samples, global_step, opt_params)
      optimizer = optimizers.configure_optimizer(learning_rate, opt_params)
      var_list_scopes = config.trainable_scopes

      clone_fn = train_lib.make_clone_fn(iterator, network_fn, loss_config,
                                         config.aux_loss_weight)

      # call_for_each_replica would run AutoGraph over the whole net (minutes
      # of graph building); the step is plain graph code.
      @tf.autograph.experimental.do_not_convert
      def replica_fn():
        clones = model_deploy.create_clones(deploy, clone_fn)
        first = clones[0]
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        if config.freeze_batch_norm and config.trainable_scopes:
          update_ops = [op for op in update_ops
                        if restore.in_scopes(op.name, config.trainable_scopes)]
        var_list = restore.variables_to_train(var_list_scopes)
        total_loss, grads_and_vars = model_deploy.optimize_clones(
            clones, optimizer, var_list)
        # Outside Estimator, TF1 optimizers sum the replicas' gradients:
        # average them, as SyncReplicasOptimizer does.
        grads_and_vars = _scaled(grads_and_vars, 1.0 / num_workers)
        checked_loss = tf.debugging.check_numerics(total_loss, train_lib.NAN_MESSAGE)
        with tf.control_dependencies([checked_loss]):
          grad_updates = optimizer.apply_gradients(grads_and_vars,
                                                   global_step=global_step)
          train_op = tf.group(grad_updates, *update_ops)
        train_lib.add_training_summaries(first, split.multilabel, total_loss,
                                         learning_rate, config, "")
        return train_op, total_loss

      train_op, total_loss = strategy.extended.call_for_each_replica(replica_fn)
      train_op = strategy.group(train_op)
      if config.moving_average_decay:
        averages = tf.compat.v1.train.ExponentialMovingAverage(
            config.moving_average_decay, global_step)
        with tf.control_dependencies([train_op]):
          train_op = tf.group(averages.apply(slim.get_model_variables()))
      total_loss = strategy.experimental_local_results(total_loss)[0]
      with tf.control_dependencies([train_op]):
        loss_after = tf.identity(total_loss, name="train_loss")
        step_after = tf.identity(global_step.read_value(), name="step_after")

    init_fn = None
    if config.checkpoint_path and not latest:
      init_fn = restore.make_init_fn(config.checkpoint_path,
                                     config.checkpoint_exclude_scopes,
                                     config.ignore_missing_vars,
                                     logits_scopes=net.logits_scopes)
    saver = tf.compat.v1.train.Saver(max_to_keep=config.max_checkpoints_to_keep)
    summary_op = tf.compat.v1.summary.merge_all()
    # No summary hook: fetching summaries in the training step's run breaks the
    # collectives ("Delete called on non-empty BufRendezvous"); the chief
    # evaluates them in a run of their own (a forward pass, no collectives).
    scaffold = tf.compat.v1.train.Scaffold(init_fn=init_fn, saver=saver,
                                           summary_op=None)
    hooks = []
    if is_chief and summary_op is not None and config.save_summaries_secs:
      hooks.append(_SummaryHook(summary_op, global_step, config.train_dir,
                                config.save_summaries_secs))
    if config.max_number_of_steps:
      hooks.append(tf.compat.v1.train.StopAtStepHook(
          last_step=config.max_number_of_steps))
    log_hook = train_lib._LogHook(config.log_every_n_steps,
                                  config.batch_size * num_workers,
                                  config.max_number_of_steps)
    if latest:
      logging.info("Resuming from %s (--checkpoint_path is not used)", latest)
    step, loss, steps_run = None, None, 0
    try:
      with tf.compat.v1.train.MonitoredTrainingSession(
          master=server.target,
          is_chief=strategy.extended.experimental_should_init,
          checkpoint_dir=checkpoint_dir, scaffold=scaffold, hooks=hooks,
          save_checkpoint_secs=config.save_interval_secs,
          save_summaries_secs=None, save_summaries_steps=None, log_step_count_steps=None,
          config=session_config,
          save_graph_def=config.save_graph and is_chief,
          stop_grace_period_secs=model_deploy.STOP_GRACE_PERIOD_SECS) as sess:
        while not sess.should_stop():
          loss, step = sess.run([loss_after, step_after])
          steps_run += 1
          log_hook.after_step(int(step), float(loss))
    except tf.errors.InvalidArgumentError as err:
      if train_lib.NAN_MESSAGE not in str(err.message):
        raise
      raise train_lib.TrainingDivergedError(
          "Training diverged: the loss became NaN or Inf after global step %s "
          "on %s %d; the last good checkpoint is %s. Lower --learning_rate or "
          "check the input data." % (step if step is not None else "0",
                                     cluster.task_type, cluster.task_index,
                                     tf.train.latest_checkpoint(config.train_dir)
                                     or "none (no checkpoint yet)")) from None
    finally:
      if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    if step is not None:
      logging.info("Finished at global step %d, loss %.4f", step, loss)
    return {"global_step": None if step is None else int(step),
            "loss": None if loss is None else float(loss),
            "steps_run": steps_run}
