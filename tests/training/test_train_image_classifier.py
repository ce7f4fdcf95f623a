"""End-to-end training: the two TF-Slim fine-tuning commands of the README, frozen variables,
resume, NaN stop, summaries, provenance, clones + multi-label, and learning.

Sizes: InceptionV3 at depth_multiplier 0.1 and 107 px (the smallest input for
which its AuxLogits head exists), 48-px records, a few steps.
"""
import csv
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tf_compat import tf
from training import optimizers, train
from tests.training import checkpoint_fixtures, record_fixtures

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DM = 0.1
SIZE = 107
HEADS = ("InceptionV3/Logits", "InceptionV3/AuxLogits")
SMALL = ["--depth_multiplier=%s" % DM, "--train_image_size=%d" % SIZE,
         "--num_readers=2", "--num_preprocessing_threads=2", "--save_graph=false"]


def _in_heads(name):
  return any(name.startswith(h + "/") for h in HEADS)


def _is_bn_stat(name):
  return name.endswith("moving_mean") or name.endswith("moving_variance")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  root = tmp_path_factory.mktemp("data")
  dataset_dir = record_fixtures.write_dataset(
      root / "tfrecords", name="kaggle_dr", size=48, channels=3,
      splits={"train": [6, 6, 6, 6], "validation": [3, 3, 3, 3]})
  pretrained = checkpoint_fixtures.build_inception_checkpoint(
      root / "pretrained", depth_multiplier=DM, v1_format=True)
  return {"dataset_dir": dataset_dir, "pretrained": pretrained,
          "official": checkpoint_fixtures.read_checkpoint(pretrained)}


def _run_cli(args):
  env = dict(os.environ, PYTHONPATH=REPO)
  proc = subprocess.run([sys.executable, "train_image_classifier.py"] + args,
                        cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


def _scalars(train_dir):
  values = {}
  for path in glob.glob(os.path.join(train_dir, "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.HasField("simple_value"):
          values.setdefault(value.tag, []).append(value.simple_value)
        elif value.HasField("image"):
          values.setdefault(value.tag, []).append(None)
  return values


def test_tf_slim_command_1_fine_tunes_heads_only(tmp_path, data):
  train_dir = str(tmp_path / "train")
  # TF-Slim's head-only fine-tune command (README); only --max_number_of_steps
  # shrinks, SMALL added.
  args = ["--train_dir=" + train_dir, "--dataset_name=kaggle_dr",
          "--dataset_split_name=train", "--dataset_dir=" + data["dataset_dir"],
          "--model_name=inception_v3", "--checkpoint_path=" + data["pretrained"],
          "--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits",
          "--trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits",
          "--max_number_of_steps=3", "--batch_size=16", "--learning_rate=0.01",
          "--learning_rate_decay_type=fixed", "--save_interval_secs=100",
          "--save_summaries_secs=100", "--log_every_n_steps=1",
          "--optimizer=rmsprop", "--weight_decay=0.00004"] + SMALL
  proc = _run_cli(args)
  assert "global step 3: loss =" in proc.stderr and "images/s" in proc.stderr
  assert tf.train.latest_checkpoint(train_dir).endswith("model.ckpt-3")

  after = checkpoint_fixtures.read_checkpoint(train_dir)
  official = data["official"]
  assert after["InceptionV3/Logits/Conv2d_1c_1x1/weights"].shape[-1] == 4
  changed_bn = 0
  for name, value in official.items():
    if _in_heads(name):
      continue
    if _is_bn_stat(name):  # documented: frozen layers' BN statistics move
      changed_bn += not np.array_equal(after[name], value)
      continue
    np.testing.assert_array_equal(after[name], value, err_msg=name)
  assert changed_bn > 0
  head = "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights"
  assert head in after and after[head].shape == (1, 1, 76, 4)

  scalars = _scalars(train_dir)
  assert "total_loss" in scalars and "learning_rate" in scalars
  assert any(t.startswith("losses/") for t in scalars)
  assert "accuracy" in scalars
  assert any(t.startswith("input_images") for t in scalars)
  assert scalars["learning_rate"][0] == pytest.approx(0.01)

  flags = json.load(open(os.path.join(train_dir, "flags.json")))
  assert flags["trainable_scopes"] == "InceptionV3/Logits,InceptionV3/AuxLogits"
  assert flags["optimizer"] == "rmsprop" and flags["batch_size"] == 16
  provenance = json.load(open(os.path.join(train_dir, "provenance.json")))
  assert provenance["code"]["tensorflow"] == tf.__version__
  assert "git_commit" in provenance["code"]
  info = json.load(open(os.path.join(train_dir, "dataset_info.json")))
  assert info["name"] == "kaggle_dr"

  spec = json.load(open(os.path.join(train_dir, "model_spec.json")))
  assert (spec["image_size"], spec["depth_multiplier"]) == (SIZE, DM)
  assert spec["preprocessing_name"] == "inception"   # no modality recorded

  # Resume with a flag that shapes the graph changed: refused with one line
  # naming the flag, before flags.json is touched.
  flags_before = open(os.path.join(train_dir, "flags.json")).read()
  for changed, flag in ((dict(train_image_size=SIZE + 8), "--train_image_size="),
                        (dict(train_image_size=SIZE, preprocessing_options={
                            "per_image_standardization": True}),
                         "--per_image_standardization=True")):
    with pytest.raises(ValueError) as err:
      train.build_and_train(train.TrainConfig(
          train_dir=train_dir, dataset_dir=data["dataset_dir"], depth_multiplier=DM,
          max_number_of_steps=4, **changed))
    assert str(err.value).startswith(flag) and "\n" not in str(err.value)
  assert open(os.path.join(train_dir, "flags.json")).read() == flags_before

  # Resume: same train_dir, a later step limit -> continues at step 3; the
  # pretrained checkpoint is not needed any more (here: it is gone).
  config = train.TrainConfig(
      train_dir=train_dir, dataset_dir=data["dataset_dir"], depth_multiplier=DM,
      train_image_size=SIZE, batch_size=16, max_number_of_steps=4,
      checkpoint_path=str(tmp_path / "moved_away" / "inception_v3.ckpt"),
      checkpoint_exclude_scopes="InceptionV3/Logits,InceptionV3/AuxLogits",
      trainable_scopes="InceptionV3/Logits,InceptionV3/AuxLogits",
      num_readers=2, num_preprocessing_threads=2, save_graph=False)
  result = train.build_and_train(config)
  assert result["global_step"] == 4 and result["steps_run"] == 1
  assert tf.train.latest_checkpoint(train_dir).endswith("model.ckpt-4")

  # A NaN/Inf loss stops with a clear error; the last good checkpoint stays.
  config.max_number_of_steps = 10
  config.class_weights = "inf,inf,inf,inf"
  with pytest.raises(train.TrainingDivergedError, match="NaN or Inf.*model.ckpt-4"):
    train.build_and_train(config)
  assert tf.train.latest_checkpoint(train_dir).endswith("model.ckpt-4")
  resumed = checkpoint_fixtures.read_checkpoint(train_dir)
  assert all(np.all(np.isfinite(v)) for v in resumed.values()
             if np.issubdtype(np.asarray(v).dtype, np.floating))


def test_tf_slim_command_2_with_frozen_batch_norm(tmp_path, data):
  train_dir = str(tmp_path / "train")
  # TF-Slim's full fine-tune command (it has no step limit: one is added).
  args = ["--train_dir=" + train_dir, "--dataset_name=kaggle_dr",
          "--dataset_split_name=train", "--dataset_dir=" + data["dataset_dir"],
          "--model_name=inception_v3", "--checkpoint_path=" + data["pretrained"],
          "--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits",
          "--trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits",
          "--learning_rate=0.000001", "--learning_rate_decay_type=exponential",
          "--max_number_of_steps=2", "--batch_size=8", "--freeze_batch_norm"] + SMALL
  _run_cli(args)
  after = checkpoint_fixtures.read_checkpoint(train_dir)
  for name, value in data["official"].items():
    if not _in_heads(name):  # everything, batch-norm statistics included
      np.testing.assert_array_equal(after[name], value, err_msg=name)
  lr = _scalars(train_dir)["learning_rate"]
  assert lr[0] == pytest.approx(1e-6)


def test_shape_mismatch_fails_before_training(tmp_path, data):
  config = train.TrainConfig(
      train_dir=str(tmp_path / "train"), dataset_dir=data["dataset_dir"],
      depth_multiplier=DM, train_image_size=SIZE, batch_size=4,
      max_number_of_steps=1, checkpoint_path=data["pretrained"])
  with pytest.raises(ValueError, match="checkpoint_exclude_scopes=InceptionV3/AuxLogits,"
                     "InceptionV3/Logits"):
    train.build_and_train(config)
  assert tf.train.latest_checkpoint(str(tmp_path / "train")) is None


def _free_port():
  import socket
  with socket.socket() as sock:
    sock.bind(("localhost", 0))
    return sock.getsockname()[1]


def test_clones_multilabel_moving_averages(tmp_path):
  """Two clones on the CPU, multi-label data, EMA, focal loss, histograms."""
  _clones_multilabel_run(tmp_path)


# SyncReplicasOptimizer's token queue runner reports TensorFlow's own
# CancelledError from its thread when the session closes.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_cluster_clones_multilabel_moving_averages(tmp_path):
  """The same run with one parameter server + one worker (in-process gRPC
  servers), replica device setter and synchronous replicas."""
  cluster = tf.train.ClusterSpec({"ps": ["localhost:%d" % _free_port()],
                                  "worker": ["localhost:%d" % _free_port()]})
  tf.distribute.Server(cluster, job_name="ps", task_index=0)
  worker = tf.distribute.Server(cluster, job_name="worker", task_index=0)
  _clones_multilabel_run(tmp_path, master=worker.target, num_ps_tasks=1,
                         worker_replicas=1, sync_replicas=True,
                         replicas_to_aggregate=1)


def _clones_multilabel_run(tmp_path, **cluster):
  dataset_dir = record_fixtures.write_dataset(
      tmp_path / "data", name="cxr", size=48, multilabel=True,
      splits={"train": [4, 3, 5]})
  train_dir = str(tmp_path / "train")
  config = train.TrainConfig(
      train_dir=train_dir, dataset_dir=dataset_dir, depth_multiplier=DM,
      train_image_size=SIZE, batch_size=4, max_number_of_steps=1,
      num_clones=2, clone_on_cpu=True, class_weights="auto", focal_gamma=2.0,
      label_smoothing=0.1, moving_average_decay=0.99, histogram_summaries=True,
      preprocessing_name="xray", num_readers=1, num_preprocessing_threads=1,
      optimizer=optimizers.OptimizerParams(optimizer="sgd",
                                           learning_rate_decay_type="polynomial"),
      save_graph=False, **cluster)
  result = train.build_and_train(config)
  assert result["global_step"] == 1 and np.isfinite(result["loss"])
  values = checkpoint_fixtures.read_checkpoint(train_dir)
  assert values["InceptionV3/Logits/Conv2d_1c_1x1/biases"].shape == (3,)
  assert any(n.endswith("/ExponentialMovingAverage") for n in values)
  scalars = _scalars(train_dir)
  assert any(t.startswith("losses/") for t in scalars)
  provenance = json.load(open(os.path.join(train_dir, "provenance.json")))
  np.testing.assert_allclose(provenance["loss"]["positive_weights"],
                             [8 / 12, 9 / 12, 7 / 12], rtol=1e-6)


def test_small_inception_learns_separable_data(tmp_path, data):
  train_dir = str(tmp_path / "train")
  config = train.TrainConfig(
      train_dir=train_dir, dataset_dir=data["dataset_dir"], depth_multiplier=DM,
      train_image_size=SIZE, batch_size=12, max_number_of_steps=40,
      preprocessing_name="xray", batch_norm_decay=0.8, weight_decay=0.0,
      optimizer=optimizers.OptimizerParams(optimizer="adam", learning_rate=0.005,
                                           opt_epsilon=1e-3,
                                           learning_rate_decay_type="fixed"),
      num_readers=2, num_preprocessing_threads=2, seed=1, save_graph=False,
      log_every_n_steps=20, mixed_precision=True)
  train.build_and_train(config)
  accuracy = _evaluate(train_dir, data["dataset_dir"])
  assert accuracy >= 0.75, accuracy   # chance is 0.25


def _evaluate(train_dir, dataset_dir):
  from datasets import dataset_factory
  from datasets import input_pipeline
  from nets import nets_factory
  from preprocessing import preprocessing_factory
  split = dataset_factory.get_split("kaggle_dr", "validation", dataset_dir)
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_preprocessing("xray", is_training=False)
    batch = tf.compat.v1.data.make_one_shot_iterator(input_pipeline.make_dataset(
        split, fn, SIZE, 12, is_training=False)).get_next()
    net = nets_factory.get_network_fn("inception_v3", 4, is_training=False,
                                      depth_multiplier=DM)
    logits, _ = net(batch["images"])
    correct = tf.equal(tf.argmax(logits, 1), batch["labels"])
    saver = tf.compat.v1.train.Saver()
    hits = []
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, tf.train.latest_checkpoint(train_dir))
      try:
        while True:
          hits.extend(sess.run(correct))
      except tf.errors.OutOfRangeError:
        pass
  assert len(hits) == 12
  return float(np.mean(hits))


def _run_script(script, args):
  env = dict(os.environ, PYTHONPATH=REPO)
  proc = subprocess.run([sys.executable, script] + args, cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return proc


def test_labels_offset_background_class_trains_evaluates_predicts(tmp_path):
  """TF-Slim's --labels_offset=1: class 0 is a background class without
  examples; the net has 3 outputs, and eval and predict report its class i
  as the dataset's class i+1, by name."""
  import dataclasses
  from datasets import dataset_info
  from evaluation import evaluate
  from PIL import Image
  dataset_dir = record_fixtures.write_dataset(
      tmp_path / "data", name="films", size=48, channels=3,
      splits={"train": [0, 6, 6, 6], "validation": [0, 3, 3, 3],
              "test": [2, 3, 3, 3]})
  names = ["background", "mild", "moderate", "severe"]
  info = dataset_info.read(dataset_dir)
  dataset_info.write(dataclasses.replace(info, class_names=names), dataset_dir)

  train_dir = str(tmp_path / "train")
  config = train.TrainConfig(
      train_dir=train_dir, dataset_dir=dataset_dir, depth_multiplier=DM,
      train_image_size=SIZE, batch_size=6, max_number_of_steps=2,
      labels_offset=1, class_weights="auto", num_readers=1,
      num_preprocessing_threads=1, save_graph=False)
  assert train.build_and_train(config)["global_step"] == 2
  values = checkpoint_fixtures.read_checkpoint(train_dir)
  assert values["InceptionV3/Logits/Conv2d_1c_1x1/biases"].shape == (3,)
  assert values["InceptionV3/AuxLogits/Conv2d_2b_1x1/biases"].shape == (3,)

  eval_dir = str(tmp_path / "eval")
  _run_script("eval_image_classifier.py", [
      "--checkpoint_path=" + train_dir, "--dataset_dir=" + dataset_dir,
      "--dataset_split_name=validation", "--labels_offset=1",
      "--eval_dir=" + eval_dir, "--batch_size=5", "--num_preprocessing_threads=1"])
  metrics = json.load(open(os.path.join(eval_dir, "metrics.json")))
  assert [c["class"] for c in metrics["per_class"]] == names[1:]
  assert [c["support"] for c in metrics["per_class"]] == [3, 3, 3]
  with open(os.path.join(eval_dir, "predictions.csv")) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 9
  for row in rows:   # source ids are <split>_<dataset class>_<i>
    assert row["label_name"] == names[int(row["source_id"].split("_")[1])]
    assert row["prediction_name"] in names[1:]
    # numbers are the dataset's class indices (labels.txt), as the names are
    assert names[int(row["label"])] == row["label_name"]
    assert names[int(row["prediction"])] == row["prediction_name"]
  assert "p_background" not in rows[0]

  images = tmp_path / "images"
  images.mkdir()
  rng = np.random.RandomState(0)
  for label in (1, 2, 3):
    pixels = record_fixtures.make_image(label, 48, 3, rng)
    Image.fromarray((pixels * 255).astype(np.uint8)).save(images / ("eye%d.png" % label))
  output = str(tmp_path / "predictions.csv")
  _run_script("predict_image_classifier.py", [
      "--checkpoint_path=" + train_dir, "--dataset_dir=" + dataset_dir,
      "--input=" + str(images), "--output=" + output, "--labels_offset=1",
      "--top_k=3"])
  with open(output) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 3
  for row in rows:
    assert sorted(row["class_%d" % r] for r in (1, 2, 3)) == sorted(names[1:])

  # A split with examples of the background class is refused, in one line.
  message = (r"^--labels_offset=1 treats class 0 \('background'\) as a background "
             r"class the net does not model, but split 'test' has 2 examples of "
             r"it; use --labels_offset=0$")
  refused_dir = str(tmp_path / "refused")
  with pytest.raises(ValueError, match=message):
    train.build_and_train(dataclasses.replace(
        config, train_dir=refused_dir, dataset_split_name="test"))
  assert not os.path.exists(refused_dir) or not os.listdir(refused_dir)
  with pytest.raises(ValueError, match=message):
    evaluate.run(evaluate.EvalOptions(
        checkpoint_path=train_dir, dataset_dir=dataset_dir,
        dataset_split_name="test",   # labels_offset=1 from model_spec.json
        eval_dir=str(tmp_path / "eval_test"), progress=False))
