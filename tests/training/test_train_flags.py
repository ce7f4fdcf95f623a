"""train_image_classifier.py: every TF-Slim flag exists, and every flag the
script defines changes what training does -- not merely a config field.

``CHANGES`` gives each flag a changed value (command-line text), the level at
which the change must show, and context flags given to both commands where a
flag only acts together with another one (e.g. --adam_beta1 with
--optimizer=adam). The table must name exactly the flags the script defines,
so a new flag without an entry fails. Each command is parsed by absl, turned
into the TrainConfig by the script's own ``config_from_flags`` and compared
with the same command without the flag, at the entry's level:

  GRAPH      the training GraphDef ``build_and_train`` builds (nodes, attrs,
             devices, tf.data functions); MonitoredTrainingSession is replaced
             by a recorder, so no session is created and no step runs
  SESSION    what ``build_and_train`` hands to that session: master, is_chief,
             ConfigProto, the Saver's max_to_keep, the StopAtStepHook's step
  FILES      what ``build_and_train`` writes to --train_dir before training
             (file names, model_spec.json's content)
  OUTCOME    ``build_and_train`` refuses (ValueError) with one value, not the other
  LOG        TensorFlow's SyncReplicasOptimizer log line (in a local graph
             --worker_replicas only reaches its total_num_replicas, which
             TensorFlow only logs; in a cluster resolve_cluster checks it)
  RUN        a real 2-step run resumed to step 4: its "global step" log lines,
             the checkpoints kept, the summary tags, graph.pbtxt/.meta files
  CLUSTER    the ClusterConfig of the script's ``resolve_cluster()`` (or its
             one-line refusal); no server is started
  EVALUATOR  the EvalOptions the script's ``run_evaluator()`` (a cluster's
             evaluator task) passes to evaluate.run, which is replaced by a
             recorder; no evaluation runs

Every command pins --model_name=tiny_cnn (InceptionV3 takes ~10 s to build
here), --dataset_dir and a fresh --train_dir. InceptionV3's AuxLogits head
and depth multiplier are exercised with ``tiny_aux``, a test net registered
here (it is also --model_name's changed value).
"""
import contextlib
import dataclasses
import glob
import json
import logging as py_logging
import os
import re

import pytest
from absl import flags

import train_image_classifier as tic
from tf_compat import slim, tf
from nets import nets_factory, tiny
from training import train
from tests.training import record_fixtures

TF_SLIM_FLAGS = """master train_dir num_clones clone_on_cpu worker_replicas num_ps_tasks
num_readers num_preprocessing_threads log_every_n_steps save_summaries_secs
save_interval_secs task weight_decay optimizer adadelta_rho
adagrad_initial_accumulator_value adam_beta1 adam_beta2 opt_epsilon
ftrl_learning_rate_power ftrl_initial_accumulator_value ftrl_l1 ftrl_l2 momentum
rmsprop_momentum rmsprop_decay learning_rate_decay_type learning_rate
end_learning_rate label_smoothing learning_rate_decay_factor num_epochs_per_decay
sync_replicas replicas_to_aggregate moving_average_decay dataset_name
dataset_split_name dataset_dir labels_offset model_name preprocessing_name
batch_size train_image_size max_number_of_steps use_grayscale checkpoint_path
checkpoint_exclude_scopes trainable_scopes ignore_missing_vars""".split()
OURS = """depth_multiplier class_weights balanced_sampling focal_gamma freeze_batch_norm
mixed_precision xla flip rotation_degrees shift_fraction brightness_delta
contrast_range per_image_standardization""".split()

GRAPH, SESSION, FILES, OUTCOME, LOG, RUN, CLUSTER, EVALUATOR = (
    "graph", "session", "files", "outcome", "log", "run", "cluster", "evaluator")


@dataclasses.dataclass(frozen=True)
class Change:
  value: str                  # command-line text; {name} = a fixture path
  level: str
  context: tuple = ()         # flags given to both commands


C = Change
ADAM, FTRL = ("--optimizer=adam",), ("--optimizer=ftrl",)
AUX = ("--model_name=tiny_aux",)
SYNC_PS = ("--sync_replicas", "--num_ps_tasks=1")
ONE_WORKER = ("--worker_hosts=localhost:2222", "--job_name=worker")

CHANGES = {
    # Data and net
    "dataset_dir": C("{background}", GRAPH),
    "dataset_name": C("other", OUTCOME),     # only checked against dataset_info.json
    "dataset_split_name": C("validation", GRAPH),
    "labels_offset": C("1", GRAPH, ("--dataset_dir={background}",)),
    "model_name": C("tiny_aux", GRAPH),
    "depth_multiplier": C("0.5", GRAPH, AUX),
    "aux_loss_weight": C("0", GRAPH, AUX),
    "train_image_size": C("24", GRAPH),
    "batch_size": C("8", GRAPH),
    "batch_norm_decay": C("0.5", GRAPH),
    "preprocessing_name": C("xray", GRAPH),
    "flip": C("false", GRAPH),
    "vertical_flip": C("true", GRAPH),
    "rotation_degrees": C("10", GRAPH),
    "shift_fraction": C("0.1", GRAPH),
    "brightness_delta": C("0.3", GRAPH),
    "contrast_range": C("0.7,1.3", GRAPH),
    "per_image_standardization": C("true", GRAPH),
    "use_grayscale": C("true", GRAPH),
    "num_readers": C("1", GRAPH),
    "num_preprocessing_threads": C("1", GRAPH),
    "balanced_sampling": C("true", GRAPH),
    "seed": C("7", GRAPH),
    # Fine-tuning
    "checkpoint_path": C("{checkpoint}", GRAPH),
    "checkpoint_exclude_scopes": C("TinyCNN/Logits", GRAPH,
                                   ("--checkpoint_path={checkpoint}",)),
    "ignore_missing_vars": C("true", OUTCOME,
                             ("--checkpoint_path={headless_checkpoint}",)),
    "trainable_scopes": C("TinyCNN/Logits", GRAPH),
    "freeze_batch_norm": C("true", GRAPH, ("--trainable_scopes=TinyCNN/Logits",)),
    # Loss
    "weight_decay": C("0.001", GRAPH),
    "label_smoothing": C("0.1", GRAPH),
    "class_weights": C("auto", GRAPH),
    "focal_gamma": C("2", GRAPH),
    "moving_average_decay": C("0.99", GRAPH),
    # Optimizer and learning rate
    "optimizer": C("adam", GRAPH),
    "adadelta_rho": C("0.5", GRAPH, ("--optimizer=adadelta",)),
    "adagrad_initial_accumulator_value": C("0.5", GRAPH, ("--optimizer=adagrad",)),
    "adam_beta1": C("0.5", GRAPH, ADAM),
    "adam_beta2": C("0.5", GRAPH, ADAM),
    "opt_epsilon": C("0.5", GRAPH),
    "ftrl_learning_rate_power": C("-0.25", GRAPH, FTRL),
    "ftrl_initial_accumulator_value": C("0.5", GRAPH, FTRL),
    "ftrl_l1": C("0.5", GRAPH, FTRL),
    "ftrl_l2": C("0.5", GRAPH, FTRL),
    "momentum": C("0.5", GRAPH, ("--optimizer=momentum",)),
    "rmsprop_momentum": C("0.5", GRAPH),
    "rmsprop_decay": C("0.5", GRAPH),
    "learning_rate": C("0.5", GRAPH),
    "learning_rate_decay_type": C("polynomial", GRAPH),
    "end_learning_rate": C("0.5", GRAPH, ("--learning_rate_decay_type=polynomial",)),
    "learning_rate_decay_factor": C("0.5", GRAPH),
    # 16 examples, batches of 32: decay every 1 step (2 epochs) -> 2 steps
    "num_epochs_per_decay": C("4", GRAPH),
    # Deployment
    "num_clones": C("2", GRAPH),
    "clone_on_cpu": C("true", GRAPH),
    "num_ps_tasks": C("1", GRAPH),
    "sync_replicas": C("true", GRAPH),
    "replicas_to_aggregate": C("2", GRAPH, ("--sync_replicas",)),
    "worker_replicas": C("2", LOG, SYNC_PS),
    "task": C("1", FILES),                   # a non-chief writes nothing
    "master": C("grpc://localhost:2222", SESSION),
    "mixed_precision": C("true", FILES),     # recorded in model_spec.json everywhere
    "xla": C("true", SESSION),
    # Run
    "train_dir": C("{elsewhere}", FILES),
    "max_number_of_steps": C("3", SESSION),
    "max_checkpoints_to_keep": C("1", RUN),
    "save_interval_secs": C("0", RUN),
    "save_summaries_secs": C("0", RUN),
    "log_every_n_steps": C("1", RUN),
    "save_graph": C("false", RUN),
    "num_image_summaries": C("0", GRAPH),
    "histogram_summaries": C("true", GRAPH),
    # Cluster (host flags) and a cluster's evaluator task
    "ps_hosts": C("localhost:2223", CLUSTER, ONE_WORKER),
    "worker_hosts": C("localhost:2222,localhost:2224", CLUSTER, ("--job_name=worker",)),
    "job_name": C("ps", CLUSTER, ("--worker_hosts=localhost:2222",
                                  "--ps_hosts=localhost:2223")),
    "worker_scratch_dir": C("{elsewhere}", CLUSTER, ONE_WORKER),
    "eval_split_name": C("test", EVALUATOR),
    "eval_batch_size": C("7", EVALUATOR),
    "eval_dir": C("{elsewhere}", EVALUATOR),
    "eval_interval_secs": C("5", EVALUATOR),
    "timeout": C("30", EVALUATOR),
    "max_num_batches": C("2", EVALUATOR),
    "select_by": C("auc", EVALUATOR),
    "bootstrap": C("10", EVALUATOR),
    "threshold": C("0.3", EVALUATOR),
    "top_k": C("2", EVALUATOR),
}


@pytest.fixture
def parsed():
  FLAGS = flags.FLAGS
  if not FLAGS.is_parsed():
    FLAGS(["train_image_classifier.py"])
  saved = {name: FLAGS[name].value for name in tic.TRAINING_FLAGS}
  yield FLAGS
  for name, value in saved.items():
    FLAGS[name].value = value


def test_every_tf_slim_training_flag_is_defined():
  missing = [n for n in TF_SLIM_FLAGS + OURS if n not in tic.TRAINING_FLAGS]
  assert not missing


def test_flags_json_records_every_flag(parsed):
  values = tic.flag_values(parsed)
  assert set(values) == set(tic.TRAINING_FLAGS)
  assert values["optimizer"] == "rmsprop"


def test_the_table_names_every_flag_exactly():
  assert sorted(CHANGES) == sorted(tic.TRAINING_FLAGS), (
      "give each new flag of train_image_classifier.py an entry in CHANGES")


# ------------------------------------------------------------ the test net
def _tiny_aux(images, num_classes=10, is_training=False, dropout_keep_prob=None,
              depth_multiplier=1.0, scope="TinyAux"):
  """tiny_cnn thinned by ``depth_multiplier``, with an AuxLogits head."""
  logits, end_points = tiny.tiny_cnn(images, num_classes, is_training,
                                     dropout_keep_prob,
                                     depth=max(1, int(8 * depth_multiplier)),
                                     scope=scope)
  with tf.compat.v1.variable_scope(scope + "/AuxLogits"):
    pooled = tf.reduce_mean(end_points["Conv2d_1a_3x3"], [1, 2], keepdims=True)
    aux = slim.conv2d(pooled, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None, scope="Conv2d_1x1")
  end_points["AuxLogits"] = tf.squeeze(aux, [1, 2])
  return logits, end_points


TINY_AUX = nets_factory.NetSpec(
    _tiny_aux, tiny.tiny_cnn_arg_scope, 32, "TinyAux",
    ("TinyAux/Logits", "TinyAux/AuxLogits"), "inception",
    supports_depth_multiplier=True, has_aux_logits=True)


# --------------------------------------------------------------- observing
class _SessionRecorder:
  """Stands in for MonitoredTrainingSession: records its arguments and the
  default graph, and asks for no step."""
  calls = []

  def __init__(self, **kwargs):
    self.calls.append(dict(kwargs, graph=tf.compat.v1.get_default_graph()))

  def __enter__(self):
    return self

  def __exit__(self, *unused):
    return False

  def should_stop(self):
    return True


def _no_step(*unused):
  raise AssertionError("build_and_train ran a training step: the session "
                       "recorder no longer replaces its session")


def _graph_view(graph):
  """The GraphDef's nodes and functions as sorted text; tf.data function
  names carry a process-wide counter, so they are replaced by '<fn>'."""
  graph_def = graph.as_graph_def()
  names = sorted({f.signature.name for f in graph_def.library.function},
                 key=len, reverse=True)
  parts = [str(n) for n in graph_def.node] + [str(f) for f in graph_def.library.function]
  for name in names:
    parts = [p.replace(name, "<fn>") for p in parts]
  return sorted(parts)


def _session_view(call):
  stop = [h._last_step for h in call["hooks"]   # pylint: disable=protected-access
          if isinstance(h, tf.compat.v1.train.StopAtStepHook)]
  return {"master": call["master"], "is_chief": call["is_chief"],
          "config": str(call["config"]), "stop_at_step": stop,
          "max_to_keep": call["scaffold"].saver.saver_def.max_to_keep}


def _files_view(train_dir):
  names = sorted(os.listdir(train_dir)) if os.path.isdir(train_dir) else []
  spec = None
  if "model_spec.json" in names:
    with open(os.path.join(train_dir, "model_spec.json")) as f:
      spec = json.load(f)
  return {"names": names, "model_spec": spec}


class _Records(py_logging.Handler):
  def __init__(self):
    super().__init__(py_logging.INFO)
    self.messages = []

  def emit(self, record):
    self.messages.append(record.getMessage())


@contextlib.contextmanager
def _logged(*logger_names):
  handler = _Records()
  loggers = [py_logging.getLogger(n) for n in logger_names]
  levels = [l.level for l in loggers]
  for logger in loggers:
    logger.addHandler(handler)
    logger.setLevel(py_logging.INFO)
  try:
    yield handler.messages
  finally:
    for logger, level in zip(loggers, levels):
      logger.removeHandler(handler)
      logger.setLevel(level)


def _summary_tags(train_dir):
  tags = set()
  for path in glob.glob(os.path.join(train_dir, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(v.tag for v in event.summary.value)
  return sorted(tags)


class Harness:
  """Parses commands, runs the script's code paths and observes them."""

  def __init__(self, root, paths):
    self.root = root
    self.paths = paths
    self.count = 0
    self.cache = {}

  def _fresh(self, name):
    self.count += 1
    return os.path.join(self.root, "%s_%d" % (name, self.count))

  def _parse(self, args, train_dir):
    FLAGS = flags.FLAGS
    FLAGS.unparse_flags()
    FLAGS(["train_image_classifier.py", "--model_name=tiny_cnn",
           "--dataset_dir=" + self.paths["data"], "--train_dir=" + train_dir]
          + [a.format(**self.paths) for a in args])
    return FLAGS

  def observe(self, level, args):
    kind = level if level in (RUN, CLUSTER, EVALUATOR) else "build"
    key = (kind, tuple(sorted(args)))
    if key not in self.cache:
      method = {RUN: self._run, CLUSTER: self._cluster,
                EVALUATOR: self._evaluator}.get(level, self._build)
      self.cache[key] = method(args)
    return self.cache[key]

  def _build(self, args):
    train_dir = self._fresh("build")
    FLAGS = self._parse(args, train_dir)
    _SessionRecorder.calls.clear()
    with _logged("tensorflow") as messages:
      try:
        train.build_and_train(tic.config_from_flags(FLAGS))
        outcome = None
      except ValueError as err:
        outcome = "%s: %s" % (type(err).__name__, str(err).replace(train_dir, "<dir>"))
    out = {OUTCOME: outcome, FILES: _files_view(train_dir),
           LOG: [m for m in messages if m.startswith("SyncReplicasV2")]}
    if _SessionRecorder.calls:
      call = _SessionRecorder.calls[-1]
      out[GRAPH] = _graph_view(call["graph"])
      out[SESSION] = _session_view(call)
    return out

  def _run(self, args):
    """Two steps, then resumed to step 4 (a second Saver's max_to_keep acts
    on the first run's checkpoints)."""
    train_dir = self._fresh("run")
    steps, messages = [], []
    for last in (2, 4):
      FLAGS = self._parse(list(args) + ["--max_number_of_steps=%d" % last],
                          train_dir)
      with _logged("absl") as logged:   # after parsing (--verbosity sets levels)
        train.build_and_train(tic.config_from_flags(FLAGS))
      messages.extend(logged)
    for message in messages:
      match = re.match(r"global step (\d+): loss", message)
      if match:
        steps.append(int(match.group(1)))
    kept = sorted(os.path.basename(p)[:-len(".index")]
                  for p in glob.glob(os.path.join(train_dir, "model.ckpt-*.index")))
    graph_files = sorted(n for n in os.listdir(train_dir)
                         if n == "graph.pbtxt" or n.endswith(".meta"))
    return {RUN: {"logged_steps": steps, "checkpoints": kept,
                  "summary_tags": _summary_tags(train_dir),
                  "graph_files": graph_files}}

  def _cluster(self, args):
    self._parse(args, self._fresh("cluster"))
    try:
      cluster = tic.resolve_cluster()
    except SystemExit as refused:
      return {CLUSTER: "refused: %s" % refused}
    return {CLUSTER: cluster and dataclasses.asdict(cluster)}

  def _evaluator(self, args):
    from evaluation import checkpoints, evaluate
    train_dir = self._fresh("eval")
    self._parse(args, train_dir)
    seen = []
    with pytest.MonkeyPatch.context() as patch:
      patch.setattr(checkpoints, "new_checkpoints",
                    lambda *a, **k: iter([os.path.join(train_dir, "model.ckpt-1")]))
      patch.setattr(evaluate, "run", seen.append)
      tic.run_evaluator()
    options = dataclasses.asdict(seen[0])
    options["checkpoint_path"] = options["checkpoint_path"].replace(train_dir, "<dir>")
    return {EVALUATOR: options}


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
  root = tmp_path_factory.mktemp("flags")
  out = {"elsewhere": str(root / "elsewhere")}
  out["data"] = record_fixtures.write_dataset(
      root / "data", name="tiny", size=16, channels=3,
      splits={"train": [4, 4, 4, 4], "validation": [2, 2, 2, 2]})
  # Class 0 is a background class without examples (--labels_offset=1).
  out["background"] = record_fixtures.write_dataset(
      root / "background", name="tiny", size=16, channels=3,
      splits={"train": [0, 4, 4, 4]})
  for name, num_classes in (("checkpoint", 4), ("headless_checkpoint", 0)):
    with tf.Graph().as_default():
      nets_factory.get_network_fn("tiny_cnn", num_classes, is_training=True)(
          tf.zeros([1, 16, 16, 3]))
      saver = tf.compat.v1.train.Saver()
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        out[name] = saver.save(sess, str(root / name / "tiny.ckpt"))
  return out


@pytest.mark.slow
# SyncReplicasOptimizer's token queue runner may report its CancelledError
# from its thread when a session closes.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_every_flag_changes_what_training_does(paths, tmp_path):
  assert sorted(CHANGES) == sorted(tic.TRAINING_FLAGS)
  harness = Harness(str(tmp_path), paths)
  unchanged, broken = [], []
  try:
    with pytest.MonkeyPatch.context() as patch:
      patch.setitem(nets_factory.NETWORKS, "tiny_aux", TINY_AUX)
      patch.delenv("TF_CONFIG", raising=False)
      patch.setattr(tf.compat.v1.train, "MonitoredTrainingSession", _SessionRecorder)
      # Were training to stop creating its session that way, a build without
      # --max_number_of_steps would train forever: fail at its first step.
      patch.setattr(train._LogHook, "after_step", _no_step)   # pylint: disable=protected-access
      base = harness.observe(GRAPH, ())
      assert base[OUTCOME] is None, base[OUTCOME]
      # The comparison means something only if a command observed twice
      # gives the same graph.
      assert harness._build(())[GRAPH] == base[GRAPH]
      runs = sorted((n, c) for n, c in CHANGES.items() if c.level == RUN)
      for name, change in sorted(CHANGES.items()):
        if change.level == RUN:
          continue
        before = harness.observe(change.level, change.context)
        after = harness.observe(change.level, change.context + (
            "--%s=%s" % (name, change.value),))
        if change.level not in (OUTCOME, CLUSTER, EVALUATOR) and (
            before[OUTCOME] or after[OUTCOME]):
          broken.append((name, before[OUTCOME] or after[OUTCOME]))
        elif before[change.level] == after[change.level]:
          unchanged.append(name)
    for name, change in runs:   # real sessions
      before = harness.observe(RUN, change.context)
      after = harness.observe(RUN, change.context + ("--%s=%s" % (name, change.value),))
      if before[RUN] == after[RUN]:
        unchanged.append(name)
  finally:
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train_image_classifier.py"])
  assert not broken, "a command of the table fails: %s" % broken
  assert not unchanged, "flags accepted and ignored: %s" % unchanged
  # What the RUN level saw (documents the comparison).
  base_run = harness.observe(RUN, ())[RUN]
  assert base_run["checkpoints"] == ["model.ckpt-2", "model.ckpt-4"]
  assert base_run["graph_files"] == ["graph.pbtxt", "model.ckpt-2.meta",
                                     "model.ckpt-4.meta"]
  assert "total_loss" in base_run["summary_tags"]
