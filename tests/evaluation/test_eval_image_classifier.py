"""eval_image_classifier.py / evaluation.evaluate on converted demo records."""
import csv
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
      model_overrides=overrides, dataset_name="diabetic",
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
         "--dataset_name=diabetic", "--dataset_split_name=validation",
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
  from evaluation import model as model_lib
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
  from conftest import save_checkpoint
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
