"""Session pieces that keep a training run's start-up and tail short.

Measured on a 5-step run (see README, Benchmarks):
  * MonitoredTrainingSession's stock CheckpointSaverHook saves a checkpoint of
    the untouched initial variables before the first step (0.5-0.7 s, and a
    ``model.ckpt-0`` TF-Slim never wrote); with ``--sync_replicas`` closing the
    session waited the default ``stop_grace_period_secs`` (120 s) for
    SyncReplicasOptimizer's token queue-runner thread, which only stops once
    the session is closed (now model_deploy.STOP_GRACE_PERIOD_SECS);
  * its stock SummarySaverHook adds the summaries to the fetches of the steps
    that write them only: a step with them and a step without them are two
    different callables, and TensorFlow builds and optimises the whole
    training graph for each (seconds for InceptionV3). SummaryHook fetches the
    same tensors at every step: the summaries sit behind a condition on a
    boolean it feeds (see train.gated_training_summaries);
  * the graph went into the events file twice (once from the writer cache's
    FileWriter, built before the graph is final, once from the checkpoint
    hook), each time serialised twice, and into graph.pbtxt as text (1.5 s of
    pure-Python text formatting). GraphWriterHook serialises the final graph
    once for the events file and formats graph.pbtxt in a thread of its own
    while the first step runs; the Saver below exports each checkpoint's
    ``.meta`` from that serialised graph too.
All hooks write through one FileWriter the caller owns (no writer cache).
"""
import threading

from tensorflow.python.framework import meta_graph
from tensorflow.python.training import training_util

from tf_compat import tf


class Saver(tf.compat.v1.train.Saver):
  """TensorFlow's Saver; after ``use_graph_def(graph_def)`` (the final graph,
  serialised with shapes) each checkpoint's ``.meta`` is exported from it
  instead of serialising the graph again at every save."""

  _graph_def = None

  def use_graph_def(self, graph_def):
    self._graph_def = graph_def

  def export_meta_graph(self, filename=None, collection_list=None, as_text=False,
                        export_scope=None, clear_devices=False,
                        clear_extraneous_savers=False, strip_default_attrs=False,
                        save_debug_info=False):
    if self._graph_def is None:
      return super().export_meta_graph(
          filename, collection_list, as_text, export_scope, clear_devices,
          clear_extraneous_savers, strip_default_attrs, save_debug_info)
    return tf.compat.v1.train.export_meta_graph(
        filename=filename, graph_def=self._graph_def, saver_def=self.saver_def,
        collection_list=collection_list, as_text=as_text,
        export_scope=export_scope, clear_devices=clear_devices,
        clear_extraneous_savers=clear_extraneous_savers,
        strip_default_attrs=strip_default_attrs, save_debug_info=save_debug_info)


class CheckpointSaverHook(tf.compat.v1.train.CheckpointSaverHook):
  """TensorFlow's hook without the step-0 checkpoint: checkpoints every
  ``save_secs`` and at the end as before (``.meta`` files only with
  ``save_graph_def``); events go to ``summary_writer`` (default: the writer
  cache's writer of ``checkpoint_dir``, as TensorFlow's)."""

  def __init__(self, *args, summary_writer=None, **kwargs):
    super().__init__(*args, **kwargs)
    self._given_writer = summary_writer

  def begin(self):
    if self._given_writer is None:
      super().begin()
      return
    self._summary_writer = self._given_writer
    self._global_step_tensor = training_util._get_or_create_global_step_read()  # pylint: disable=protected-access
    if self._global_step_tensor is None:
      raise RuntimeError("Global step should be created to use CheckpointSaverHook.")
    for listener in self._listeners:
      listener.begin()

  def after_create_session(self, session, coord):
    global_step = session.run(self._global_step_tensor)
    # The first periodic save comes save_secs from now; end() saves the last step.
    self._timer.update_last_triggered_step(global_step)


class GraphWriterHook(tf.compat.v1.train.SessionRunHook):
  """Writes the final graph once: into the events file of ``summary_writer``
  (graph and meta-graph with ``saver``'s saver_def, for TensorBoard) and as
  ``<logdir>/graph.pbtxt`` (text, formatted in a thread; ``end`` waits); a
  ``Saver`` above gets the serialised graph for its ``.meta`` files."""

  def __init__(self, summary_writer, logdir, saver=None):
    self._writer = summary_writer
    self._logdir = logdir
    self._saver = saver
    self._thread = None
    self._error = None

  def after_create_session(self, session, coord):
    graph = tf.compat.v1.get_default_graph()   # finalized by now
    graph_def = graph.as_graph_def(add_shapes=True)
    if isinstance(self._saver, Saver):
      self._saver.use_graph_def(graph_def)
    self._writer.add_graph(None, graph_def=graph_def)
    self._writer.add_meta_graph(meta_graph.create_meta_graph_def(
        graph_def=graph_def,
        saver_def=self._saver.saver_def if self._saver is not None else None))
    self._thread = threading.Thread(target=self._write_text, args=(graph_def,),
                                    name="graph_pbtxt")
    self._thread.start()

  def _write_text(self, graph_def):
    try:
      training_util.write_graph(graph_def, self._logdir, "graph.pbtxt")
    except Exception as err:  # pylint: disable=broad-except
      self._error = err

  def end(self, session):
    self.join()

  def join(self):
    """Waits for graph.pbtxt; raises what writing it raised."""
    if self._thread is not None:
      self._thread.join()
      self._thread = None
    if self._error is not None:
      error, self._error = self._error, None
      raise error


class SummaryHook(tf.compat.v1.train.SessionRunHook):
  """TensorBoard summaries of the first step and then every ``save_secs``.

  Every step fetches ``summary`` (a serialized Summary, or "" when not
  written) and ``step`` (the global step after the update), and feeds
  ``write`` (True when this step's summaries are due): the same fetches and
  feeds every step, so one callable. The events: a START session log at the
  first step, then the summaries at their global step, as TensorFlow's
  SummarySaverHook writes them.
  """

  def __init__(self, summary, write, step, summary_writer, save_secs):
    self._summary = summary
    self._write = write
    self._step = step
    self._writer = summary_writer
    self._timer = tf.compat.v1.train.SecondOrStepTimer(every_secs=save_secs)
    self._next_step = None
    self._writing = False

  def before_run(self, run_context):
    self._writing = (self._next_step is None
                     or self._timer.should_trigger_for_step(self._next_step))
    return tf.compat.v1.train.SessionRunArgs(
        {"summary": self._summary, "step": self._step},
        feed_dict={self._write: self._writing})

  def after_run(self, run_context, run_values):
    step = int(run_values.results["step"])
    if self._next_step is None:
      self._writer.add_session_log(
          tf.compat.v1.SessionLog(status=tf.compat.v1.SessionLog.START), step)
    if self._writing:
      self._timer.update_last_triggered_step(step)
      self._writer.add_summary(run_values.results["summary"], step)
    self._next_step = step + 1

  def end(self, session):
    self._writer.flush()
