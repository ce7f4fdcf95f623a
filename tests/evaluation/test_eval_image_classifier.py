"""eval_image_classifier.py / evaluation.evaluate on converted demo records."""
import csv
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from evaluation import evaluate
from tf_compat import tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPTH = 0.1


def _options(dr_dataset, checkpoint_path, eval_dir, **kwargs):
  # Explicit flags that agree with the model spec are accepted.
  overrides = {"model_name": "inception_v3", "depth_multiplier": DEPTH,
               "image_size": 80}
  return evaluate.EvalOptions(
      checkpoint_path=checkpoint_path, dataset_dir=dr_dataset["dir"],
      model_overrides=overrides, dataset_name="kaggle_dr",
      dataset_split_name="validation", eval_dir=str(eval_dir),
      num_preprocessing_threads=2, progress=False, **kwargs)


def _expected(dr_dataset):
  return {os.path.splitext(os.path.basename(p))[0]: g
          for p, g, _ in dr_dataset["rows"]}


@pytest.mark.slow
def test_seed_command_runs_unchanged(dr_dataset, dr_checkpoints):
  """The TF-Slim command line, nothing added: depth multiplier and image size
  come from training's flags.json, eval_dir defaults to <train_dir>/eval_<split>."""
  cmd = [sys.executable, "eval_image_classifier.py", "--alsologtostderr",
         "--checkpoint_path=%s" % dr_checkpoints["paths"][1],
         "--dataset_name=kaggle_dr", "--dataset_split_name=validation",
         "--dataset_dir=%s" % dr_dataset["dir"], "--model_name=inception_v3"]
  proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "kappa" in proc.stdout and "confusion matrix" in proc.stdout
  eval_dir = os.path.join(dr_checkpoints["dir"], "eval_validation")
  result = json.load(open(os.path.join(eval_dir, "metrics.json")))
  assert result["num_examples"] == 23 and result["global_step"] == 20
  cm = np.array(result["confusion_matrix"])
  assert cm.shape == (5, 5) and cm.sum() == 23
  assert cm.sum(axis=1).tolist() == [sum(1 for g in _expected(dr_dataset).values()
                                         if g == c) for c in range(5)]
  for name in ("predictions.csv", "confusion_matrix.png", "roc_curves.png",
               "reliability_diagram.png"):
    assert os.path.getsize(os.path.join(eval_dir, name)) > 0, name
  assert "patient_level" in result and result["patient_level"]["num_patients"] < 23


@pytest.mark.parametrize("batch_size, max_num_batches, count", [
    (5, None, 23),    # last batch of 3
    (4, 2, 8),        # --max_num_batches
])
def test_every_example_evaluated_exactly_once(dr_dataset, dr_checkpoints, tmp_path,
                                              batch_size, max_num_batches, count):
  out = evaluate.run(_options(dr_dataset, dr_checkpoints["dir"], tmp_path,
                              batch_size=batch_size, max_num_batches=max_num_batches))
  result = out["results"][0]
  assert result["checkpoint"] == dr_checkpoints["paths"][1]   # directory -> latest
  assert result["num_examples"] == count
  rows = list(csv.DictReader(open(tmp_path / "predictions.csv")))
  ids = [r["source_id"] for r in rows]
  assert len(ids) == len(set(ids)) == count
  expected = _expected(dr_dataset)
  assert all(int(r["label"]) == expected[r["source_id"]] for r in rows)
  if count == 23:
    assert set(ids) == set(expected)
  probs = np.array([[float(r["p_%d" % c]) for c in range(5)] for r in rows])
  assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_all_checkpoints_names_the_best(dr_dataset, dr_checkpoints, tmp_path):
  out = evaluate.run(_options(dr_dataset, dr_checkpoints["dir"], tmp_path,
                              batch_size=23, all_checkpoints=True,
                              select_by="accuracy", bootstrap=20))
  steps = [r["global_step"] for r in out["results"]]
  assert steps == [10, 20]
  per_step = {s: json.load(open(tmp_path / ("step_%d" % s) / "metrics.json"))
              for s in steps}
  assert all("bootstrap" in m for m in per_step.values())
  # a batch size that divides the split: still every example once
  for s in steps:
    ids = [r["source_id"] for r in csv.DictReader(
        open(tmp_path / ("step_%d" % s) / "predictions.csv"))]
    assert sorted(ids) == sorted(_expected(dr_dataset))
  best_step = max(steps, key=lambda s: (per_step[s]["accuracy"], -s))
  summary = json.load(open(tmp_path / "checkpoints.json"))
  assert summary["select_by"] == "accuracy"
  assert summary["best"]["global_step"] == best_step
  assert out["best"]["global_step"] == best_step
  # two checkpoints with different weights give different predictions
  assert per_step[10]["calibration"]["ece"] != per_step[20]["calibration"]["ece"]
  # TensorBoard: one point per global step
  steps_seen = set()
  for path in tf.io.gfile.glob(str(tmp_path / "events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      if any(v.tag == "eval/accuracy" for v in event.summary.value):
        steps_seen.add(event.step)
  assert steps_seen == {10, 20}


def _probabilities_of(checkpoint, **config_kwargs):
  """Probabilities of the inference model on two fixed images."""
  from inference import model as model_lib
  from nets.model_spec import ModelSpec
  config = ModelSpec("inception_v3", list("01234"), image_size=80,
                     preprocessing_name="inception", preprocessing_options={},
                     **config_kwargs)
  with tf.Graph().as_default() as graph:
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (2, 80, 80, 3)),
                         tf.float32)
    _, probabilities, _ = model_lib.logits_and_probabilities(images, config)
    saver = model_lib.make_saver(config)
    with tf.compat.v1.Session(graph=graph) as sess:
      model_lib.restore(saver, sess, checkpoint, config)
      return sess.run(probabilities)


def test_moving_average_weights_are_used(tmp_path):
  """Shadow logits weights are zero: with moving_average_decay every
  probability is 1/5, without it the raw weights give something else."""
  from tests.model_fixtures import save_checkpoint
  [ckpt] = save_checkpoint(str(tmp_path), 5, steps=(3,), seed=2,
                           moving_average_decay=0.99, shadow_logits_zero=True)
  averaged = _probabilities_of(ckpt, depth_multiplier=DEPTH, moving_average_decay=0.99)
  raw = _probabilities_of(ckpt, depth_multiplier=DEPTH)
  assert np.allclose(averaged, 0.2, atol=1e-6)
  assert not np.allclose(raw, 0.2, atol=1e-4)


def test_wrong_depth_multiplier_is_a_clear_error(dr_checkpoints):
  """Resource variables would silently take the checkpoint's shapes."""
  with pytest.raises(ValueError, match="depth_multiplier"):
    _probabilities_of(dr_checkpoints["paths"][0], depth_multiplier=0.2)


def _binary_options(xray_binary, eval_dir, **kwargs):
  return evaluate.EvalOptions(
      checkpoint_path=xray_binary["train_dir"], dataset_dir=xray_binary["dir"],
      model_overrides={"model_name": "inception_v3"}, dataset_split_name="validation",
      eval_dir=str(eval_dir), batch_size=12, num_preprocessing_threads=2,
      progress=False, **kwargs)


def _by_hand(rows, positive, threshold):
  """Sensitivity and specificity of ``positive`` from predictions.csv's
  labels and probabilities."""
  called = [float(r["p_" + positive]) >= threshold for r in rows]
  is_positive = [r["label_name"] == positive for r in rows]
  tp = sum(c and p for c, p in zip(called, is_positive))
  tn = sum(not c and not p for c, p in zip(called, is_positive))
  return tp / sum(is_positive), tn / (len(rows) - sum(is_positive))


def test_binary_eval_reports_the_abnormal_class_as_positive(xray_binary, tmp_path,
                                                            capsys):
  """Folders abnormal/ normal/: abnormal is index 0, and it is the class
  whose sensitivity is reported, named in the table and in metrics.json."""
  result = evaluate.run(_binary_options(xray_binary, tmp_path / "default",
                                        threshold=0.555))["results"][0]
  assert result["num_examples"] == 12
  assert (result["binary"]["positive_class"], result["binary"]["positive_index"]) \
      == ("abnormal", 0)
  assert json.load(open(tmp_path / "default" / "metrics.json"))[
      "positive_class"] == "abnormal"
  assert "positive class         abnormal (index 0; default" in capsys.readouterr().out
  rows = list(csv.DictReader(open(tmp_path / "default" / "predictions.csv")))
  sens, spec = _by_hand(rows, "abnormal", 0.555)
  assert (result["binary"]["sensitivity"], result["binary"]["specificity"]) == (
      pytest.approx(sens), pytest.approx(spec))
  assert 0 < sens < 1 or 0 < spec < 1     # the threshold splits a class
  assert all((r["prediction_name"] == "abnormal") ==
             (float(r["p_abnormal"]) >= 0.555) for r in rows)

  chosen = evaluate.run(_binary_options(xray_binary, tmp_path / "normal",
                                        threshold=0.555, positive_class="1"))
  chosen = chosen["results"][0]
  assert chosen["binary"]["positive_class"] == "normal"
  sens, spec = _by_hand(rows, "normal", 0.555)
  assert (chosen["binary"]["sensitivity"], chosen["binary"]["specificity"]) == (
      pytest.approx(sens), pytest.approx(spec))


def test_unknown_positive_class_fails_before_evaluating(xray_binary, tmp_path,
                                                        monkeypatch):
  monkeypatch.setattr(evaluate, "Evaluator", None)   # never reached
  with pytest.raises(ValueError, match=r"^--positive_class=pneumonia names no "
                     r"class; the classes are: abnormal \(0\), normal \(1\)$"):
    evaluate.run(_binary_options(xray_binary, tmp_path, positive_class="pneumonia"))


class _FakeEvaluator:
  """Stands in for the graph: checkpoint step -> probabilities."""
  probabilities = {}
  labels = None

  def __init__(self, split, config, *unused_args):
    self.split, self.config = split, config

  def predict(self, checkpoint):
    from nets import checkpoints as ckpt_lib
    probs = self.probabilities[ckpt_lib.step_of(checkpoint)]
    n = len(probs)
    return evaluate.Outputs(["img%d" % i for i in range(n)], [""] * n,
                            self.labels, probs)

  def close(self):
    pass


def test_multilabel_all_checkpoints_picks_the_best_mean_auc(tmp_path, monkeypatch):
  """Step 10 says "no finding" everywhere (best per-element accuracy, AUC 0.5);
  step 20 ranks every finding right (mean AUC 1.0): 20 is the best."""
  from datasets import dataset_info
  data = tmp_path / "nih"
  dataset_info.write(dataset_info.DatasetInfo(
      name="chestxray14", class_names=["Effusion", "Mass"], task="multilabel",
      source_layout="chestxray14",
      splits={"validation": dataset_info.SplitInfo(6, 1, [1, 1])}), str(data))
  (data / "chestxray14_validation_00000-of-00001.tfrecord").write_bytes(b"")
  train_dir = tmp_path / "train"
  train_dir.mkdir()
  for step in (10, 20):
    (train_dir / ("model.ckpt-%d.index" % step)).write_bytes(b"")
  _FakeEvaluator.labels = np.array([[1, 0], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0]])
  _FakeEvaluator.probabilities = {
      10: np.full((6, 2), 0.1),
      20: np.array([[.9, .6], [.6, .1], [.6, .1], [.1, .9], [.6, .1], [.1, .6]])}
  monkeypatch.setattr(evaluate, "Evaluator", _FakeEvaluator)
  options = evaluate.EvalOptions(
      checkpoint_path=str(train_dir), dataset_dir=str(data),
      model_overrides={"model_name": "inception_v3"}, dataset_split_name="validation",
      eval_dir=str(tmp_path / "eval"), all_checkpoints=True, progress=False)
  out = evaluate.run(options)        # default --select_by=kappa -> mean AUC
  accuracy = {r["global_step"]: r["accuracy"] for r in out["results"]}
  assert accuracy[10] > accuracy[20]
  assert out["best"]["global_step"] == 20
  summary = json.load(open(tmp_path / "eval" / "checkpoints.json"))
  assert summary["ranked_by"] == "mean_auc"
  assert summary["best"]["global_step"] == 20 and summary["best"]["mean_auc"] == 1.0
  with pytest.raises(ValueError, match="^--select_by=accuracy: multi-label data "
                     "is ranked by mean AUC over findings; pass --select_by=auc$"):
    evaluate.run(dataclasses.replace(options, select_by="accuracy"))
