"""Session pieces that keep a training run's start-up and tail short.

Measured on a 5-step run (see README, Benchmarks): MonitoredTrainingSession's
stock CheckpointSaverHook saves a checkpoint of the untouched initial
variables before the first step (0.5-0.7 s of a short run, and a
``model.ckpt-0`` TF-Slim never wrote), and with ``--sync_replicas`` closing
the session waited the default ``stop_grace_period_secs`` (120 s) for
SyncReplicasOptimizer's token queue-runner thread, which only stops once the
session is closed (now model_deploy.STOP_GRACE_PERIOD_SECS).
"""
from tensorflow.python.framework import meta_graph
from tensorflow.python.training import training_util

from tf_compat import tf

class CheckpointSaverHook(tf.compat.v1.train.CheckpointSaverHook):
  """TensorFlow's hook without the step-0 checkpoint: checkpoints every
  ``save_secs`` and at the end as before; graph.pbtxt and the events file's
  graph/meta-graph are written at start when ``save_graph_def``."""

  def after_create_session(self, session, coord):
    global_step = session.run(self._global_step_tensor)
    if self._save_graph_def:
      graph = tf.compat.v1.get_default_graph()
      training_util.write_graph(graph.as_graph_def(add_shapes=True),
                                self._checkpoint_dir, "graph.pbtxt")
      saver = self._get_saver()
      meta_graph_def = meta_graph.create_meta_graph_def(
          graph_def=graph.as_graph_def(add_shapes=True),
          saver_def=saver.saver_def if saver else None)
      self._summary_writer.add_graph(graph)
      self._summary_writer.add_meta_graph(meta_graph_def)
    # The first periodic save comes save_secs from now; end() saves the last step.
    self._timer.update_last_triggered_step(global_step)
