"""What a training run asks of its session (training/train.py, session_hooks):
TensorFlow builds and optimises a graph for every distinct set of fetches and
feeds, seconds each for InceptionV3, so the run keeps that set small:

  * every training step runs the same fetches and feeds, summaries included
    (computed only in the steps that write them);
  * one readiness check before and after the local init op;
  * the final graph serialised once: into the events file, as graph.pbtxt and
    into each checkpoint's .meta (none of them with save_graph=False);
  * the training input without tf.data's autotuning thread.
"""
import glob
import os

import pytest

from tf_compat import tf
from tensorflow.python.client import session as session_lib
from datasets import dataset_factory
from nets import model_spec
from training import session_hooks, train
from tests.training import record_fixtures

pytestmark = pytest.mark.slow

STEPS = 3
SUMMARY_TAGS = {"total_loss", "learning_rate", "accuracy", "regularization_loss",
                "losses/loss/weighted_loss/value", "losses/aux_loss/weighted_loss/value",
                "input_images/image/0", "input_images/image/1"}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
  return record_fixtures.write_dataset(
      tmp_path_factory.mktemp("data") / "tfrecords", name="diabetic", size=48,
      channels=3, splits={"train": [4, 4, 4, 4]})


def _config(train_dir, dataset_dir, **kwargs):
  values = dict(train_dir=train_dir, dataset_dir=dataset_dir, depth_multiplier=0.1,
                train_image_size=107, batch_size=4, max_number_of_steps=STEPS,
                num_readers=1, num_preprocessing_threads=1, num_image_summaries=2,
                log_every_n_steps=100, save_summaries_secs=600)
  values.update(kwargs)
  return train.TrainConfig(**values)


def _names(structure):
  """Sorted names of the tensors/ops in nested lists, tuples and dict values."""
  if isinstance(structure, dict):
    structure = list(structure.values())
  if isinstance(structure, (list, tuple)):
    return tuple(sorted(name for item in structure for name in _names(item)))
  return (getattr(structure, "name", str(structure)),)


def _run_recording_sessions(config):
  """Trains; returns [(fetch names, feed names, is a readiness check)] of
  every session.run."""
  runs = []
  original = session_lib.BaseSession.run

  def run(self, fetches, feed_dict=None, *args, **kwargs):
    readiness = (isinstance(fetches, tf.Tensor) and fetches.dtype == tf.string
                 and fetches.shape.rank == 1)   # names of uninitialized variables
    runs.append((_names(fetches), _names(list(feed_dict or [])), readiness))
    return original(self, fetches, feed_dict, *args, **kwargs)

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(session_lib.BaseSession, "run", run)
    result = train.build_and_train(config)
  assert result["global_step"] == config.max_number_of_steps
  return runs


def _events(train_dir):
  paths = glob.glob(os.path.join(train_dir, "events.out.tfevents.*"))
  assert len(paths) == 1, paths
  return list(tf.compat.v1.train.summary_iterator(paths[0]))


@pytest.fixture(scope="module")
def run(tmp_path_factory, dataset_dir):
  train_dir = str(tmp_path_factory.mktemp("run") / "train")
  runs = _run_recording_sessions(_config(train_dir, dataset_dir, save_graph=True))
  return {"train_dir": train_dir, "runs": runs}


def test_every_step_runs_the_same_fetches_and_feeds(run):
  steps = [r[:2] for r in run["runs"] if "train_loss:0" in r[0]]
  assert len(steps) == STEPS
  assert len(set(steps)) == 1, set(steps)
  fetches, feeds = steps[0]
  assert "write_summaries:0" in feeds
  assert any(name.startswith("summaries") for name in fetches)


def test_summaries_are_written_at_the_first_step_only_within_save_summaries_secs(run):
  written = [(e.step, {v.tag for v in e.summary.value})
             for e in _events(run["train_dir"]) if e.HasField("summary")]
  assert [step for step, _ in written] == [1]
  assert written[0][1] == SUMMARY_TAGS
  starts = [e.step for e in _events(run["train_dir"])
            if e.HasField("session_log")
            and e.session_log.status == tf.compat.v1.SessionLog.START]
  assert starts == [1]


def test_one_readiness_check_callable(run):
  checks = [r[0] for r in run["runs"] if r[2]]
  assert len(checks) == 2 and len(set(checks)) == 1, checks   # before, after local init


def test_final_graph_written_once_to_events_and_as_pbtxt(run):
  events = _events(run["train_dir"])
  graphs = [e for e in events if e.HasField("graph_def")]
  metas = [e for e in events if e.HasField("meta_graph_def")]
  assert len(graphs) == 1 and len(metas) == 1
  graph_def = tf.compat.v1.GraphDef.FromString(graphs[0].graph_def)
  names = {node.name for node in graph_def.node}
  assert {"train_op", "write_summaries", "save/control_dependency"} <= names
  meta = tf.compat.v1.MetaGraphDef.FromString(metas[0].meta_graph_def)
  assert meta.saver_def.save_tensor_name.startswith("save/")
  with open(os.path.join(run["train_dir"], "graph.pbtxt")) as f:
    text = f.read()
  from google.protobuf import text_format
  assert len(text_format.Parse(text, tf.compat.v1.GraphDef()).node) == len(graph_def.node)


def test_checkpoint_meta_graph_is_the_final_graph(run):
  meta_path = tf.train.latest_checkpoint(run["train_dir"]) + ".meta"
  with open(meta_path, "rb") as f:
    meta = tf.compat.v1.MetaGraphDef.FromString(f.read())
  events = _events(run["train_dir"])
  graph_def = tf.compat.v1.GraphDef.FromString(
      [e for e in events if e.HasField("graph_def")][0].graph_def)
  assert meta.graph_def == graph_def
  assert meta.saver_def.save_tensor_name.startswith("save/")
  assert "trainable_variables" in meta.collection_def


def test_saver_exports_meta_graphs_from_the_graph_def_it_was_given(tmp_path):
  with tf.Graph().as_default() as graph:
    tf.compat.v1.get_variable("v", [2], initializer=tf.zeros_initializer())
    saver = session_hooks.Saver()
    graph.finalize()
    stock = saver.export_meta_graph(str(tmp_path / "stock.meta"))
    saver.use_graph_def(graph.as_graph_def(add_shapes=True))

    def serialise_again(*args, **kwargs):
      raise AssertionError("the graph was serialised again")

    with pytest.MonkeyPatch.context() as patch:
      patch.setattr(tf.Graph, "as_graph_def", serialise_again)
      given = saver.export_meta_graph(str(tmp_path / "given.meta"))
  assert given == stock
  assert (tmp_path / "given.meta").read_bytes() == (tmp_path / "stock.meta").read_bytes()


def test_without_save_graph_no_graph_is_written(tmp_path, dataset_dir):
  train_dir = str(tmp_path / "train")
  train.build_and_train(_config(train_dir, dataset_dir, save_graph=False,
                                max_number_of_steps=1))
  events = _events(train_dir)
  assert not [e for e in events if e.HasField("graph_def") or e.HasField("meta_graph_def")]
  assert [e.step for e in events if e.HasField("summary")] == [1]
  assert not os.path.exists(os.path.join(train_dir, "graph.pbtxt"))
  assert not glob.glob(os.path.join(train_dir, "*.meta"))


def test_training_input_runs_without_the_autotune_model(dataset_dir, tmp_path):
  config = _config(str(tmp_path / "train"), dataset_dir)
  split = dataset_factory.get_split(None, "train", dataset_dir)
  spec = model_spec.build(config.model_name, split.info,
                          depth_multiplier=config.depth_multiplier,
                          image_size=config.train_image_size)
  made = []
  original = tf.compat.v1.data.make_one_shot_iterator

  def make_one_shot_iterator(dataset):
    made.append(dataset)
    return original(dataset)

  with tf.Graph().as_default(), pytest.MonkeyPatch.context() as patch:
    patch.setattr(tf.compat.v1.data, "make_one_shot_iterator", make_one_shot_iterator)
    train.network_and_inputs(config, spec, split)
    assert len(made) == 1
    assert made[0].options().autotune.enabled is False
