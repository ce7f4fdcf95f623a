"""evaluation.metrics against values computed by hand on hand-made cases."""
import math

import numpy as np
import pytest

from evaluation import metrics


def _onehot_probs(preds, num_classes, confidence=0.8):
  probs = np.full((len(preds), num_classes), (1 - confidence) / (num_classes - 1))
  probs[np.arange(len(preds)), preds] = confidence
  return probs


# labels 0,0,1,1,2,2 predicted 0,1,1,1,2,0
LABELS = np.array([0, 0, 1, 1, 2, 2])
PREDS = np.array([0, 1, 1, 1, 2, 0])


def test_multiclass_counts_equal_hand_computed_values():
  r = metrics.multiclass_metrics(LABELS, _onehot_probs(PREDS, 3), ["a", "b", "c"],
                                 graded=True, top_k=2)
  assert r["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
  assert r["accuracy"] == pytest.approx(4 / 6)
  per = {c["class"]: c for c in r["per_class"]}
  assert [per[k]["precision"] for k in "abc"] == pytest.approx([0.5, 2 / 3, 1.0])
  assert [per[k]["sensitivity"] for k in "abc"] == pytest.approx([0.5, 1.0, 0.5])
  # specificity = TN / (TN + FP): class a has 4 negatives, 1 called a.
  assert [per[k]["specificity"] for k in "abc"] == pytest.approx([0.75, 0.75, 1.0])
  assert [per[k]["f1"] for k in "abc"] == pytest.approx([0.5, 0.8, 2 / 3])
  assert r["macro"]["f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
  assert r["macro"]["specificity"] == pytest.approx((0.75 + 0.75 + 1.0) / 3)
  # equal supports: weighted == macro here
  assert r["weighted"]["recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
  # quadratic weights (i-j)^2/4: observed 1.25/6, expected 10.5/36 -> 1 - 5/7
  assert r["kappa"] == pytest.approx(2 / 7)


def test_top_k_and_auc_with_graded_scores():
  labels = np.array([0, 1, 2, 2])
  probs = np.array([[0.5, 0.3, 0.2],
                    [0.6, 0.3, 0.1],   # label 1 is 2nd
                    [0.1, 0.2, 0.7],
                    [0.2, 0.5, 0.3]])  # label 2 is 2nd
  r = metrics.multiclass_metrics(labels, probs, ["0", "1", "2"], top_k=2)
  assert r["accuracy"] == pytest.approx(0.5)
  assert r["top_2_accuracy"] == pytest.approx(1.0)
  # class 0 vs rest: positive score 0.5 vs negatives 0.6, 0.1, 0.2 -> 2/3
  assert r["per_class"][0]["auc"] == pytest.approx(2 / 3)
  # class 2 vs rest: positives 0.7, 0.3 vs negatives 0.2, 0.1 -> 1
  assert r["per_class"][2]["auc"] == pytest.approx(1.0)
  assert "kappa" not in r  # not graded


def test_binary_threshold_sensitivity_specificity_and_auc():
  labels = np.array([0, 0, 1, 1])
  p1 = np.array([0.1, 0.4, 0.35, 0.8])
  probs = np.stack([1 - p1, p1], axis=1)
  r = metrics.multiclass_metrics(labels, probs, ["normal", "disease"], threshold=0.5)
  assert r["task"] == "binary"
  assert r["binary"]["auc"] == pytest.approx(0.75)
  assert r["auc"] == pytest.approx(0.75)
  assert (r["binary"]["sensitivity"], r["binary"]["specificity"]) == (0.5, 1.0)
  r = metrics.multiclass_metrics(labels, probs, ["normal", "disease"], threshold=0.3)
  assert (r["binary"]["sensitivity"], r["binary"]["specificity"]) == (1.0, 0.5)
  assert r["confusion_matrix"] == [[1, 1], [0, 2]]


def test_kappa_extremes():
  y = np.array([0, 1, 2, 3, 4])
  assert metrics.quadratic_weighted_kappa(y, y, 5) == 1.0
  assert metrics.quadratic_weighted_kappa(y, 4 - y, 5) == pytest.approx(-1.0)


def test_multilabel_per_finding_auc_and_mean():
  labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
  probs = np.array([[0.9, 0.8], [0.2, 0.3], [0.6, 0.7], [0.4, 0.1]])
  r = metrics.multilabel_metrics(labels, probs, ["Effusion", "Mass"])
  aucs = [f["auc"] for f in r["per_finding"]]
  assert aucs == pytest.approx([1.0, 0.5])
  assert r["mean_auc"] == pytest.approx(0.75)
  mass = r["per_finding"][1]   # predicted 1,0,1,0 against 0,1,1,0
  assert (mass["sensitivity"], mass["specificity"]) == (0.5, 0.5)
  assert r["accuracy"] == pytest.approx(6 / 8)
  assert r["exact_match"] == pytest.approx(2 / 4)


def test_auc_undefined_for_absent_class_is_nan_not_error():
  labels = np.array([0, 0, 1, 1])
  probs = _onehot_probs(np.array([0, 1, 1, 1]), 3)
  r = metrics.multiclass_metrics(labels, probs, ["a", "b", "c"])
  assert math.isnan(r["per_class"][2]["auc"])
  assert not math.isnan(r["auc"])


def test_expected_calibration_error_by_hand():
  labels = np.array([0, 1, 2, 2])
  probs = np.array([[0.9, 0.05, 0.05],   # conf .9 right
                    [0.9, 0.05, 0.05],   # conf .9 wrong
                    [0.2, 0.2, 0.6],     # conf .6 right
                    [0.2, 0.2, 0.6]])    # conf .6 right
  c = metrics.calibration(labels, probs, num_bins=10)
  # bin .9: |0.5-0.9| * 1/2 ; bin .6: |1-0.6| * 1/2
  assert c["ece"] == pytest.approx(0.4)
  counts = [b["count"] for b in c["bins"]]
  assert sum(counts) == 4 and sorted(counts)[-2:] == [2, 2]
  perfect = metrics.calibration(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
  assert perfect["ece"] == pytest.approx(0.0)


def test_patient_aggregation_uses_worst_grade_and_mean_probability():
  labels = np.array([0, 2, 1, 1, 3])
  preds = np.array([0, 1, 1, 2, 3])
  probs = _onehot_probs(preds, 4)
  groups = ["a", "a", "b", "b", ""]
  keys, p_labels, p_probs, p_preds = metrics.aggregate_by_patient(
      labels, probs, groups, graded=True, ids=["x1", "x2", "y1", "y2", "z"])
  by = dict(zip(keys, zip(p_labels, p_preds)))
  assert by["a"] == (2, 1) and by["b"] == (1, 2) and by["image:z"] == (3, 3)
  assert p_probs[keys.index("a")] == pytest.approx(probs[:2].mean(axis=0))
  r = metrics.compute_all(labels, probs, list("0123"), graded=True,
                          patient_groups=groups, ids=["x1", "x2", "y1", "y2", "z"])
  assert r["patient_level"]["num_patients"] == 3
  assert r["patient_level"]["accuracy"] == pytest.approx(1 / 3)
  assert r["accuracy"] == pytest.approx(3 / 5)


def test_multilabel_patient_has_a_finding_if_any_image_has_it():
  labels = np.array([[1, 0], [0, 0], [0, 1]])
  probs = np.array([[0.2, 0.1], [0.7, 0.3], [0.1, 0.9]])
  keys, p_labels, p_probs, p_preds = metrics.aggregate_by_patient(
      labels, probs, ["p", "p", "q"], multilabel=True)
  assert p_labels.tolist() == [[1, 0], [0, 1]]
  assert p_probs.tolist() == [[0.7, 0.3], [0.1, 0.9]]


def test_bootstrap_interval_brackets_the_value_and_resamples_patients():
  rng = np.random.default_rng(1)
  labels = rng.integers(0, 3, 200)
  noisy = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 3, 200))
  probs = _onehot_probs(noisy, 3, 0.6) + rng.random((200, 3)) * 0.1
  probs /= probs.sum(axis=1, keepdims=True)
  ci = metrics.bootstrap_intervals(labels, probs, 200, graded=True, seed=3)
  for key in ("accuracy", "kappa", "auc"):
    assert ci[key]["low"] < ci[key]["value"] < ci[key]["high"], key
    assert ci[key]["unit"] == "image"
  # deterministic for a seed
  again = metrics.bootstrap_intervals(labels, probs, 200, graded=True, seed=3)
  assert again["kappa"]["low"] == ci["kappa"]["low"]
  groups = ["p%d" % (i // 2) for i in range(200)]
  by_patient = metrics.bootstrap_intervals(labels, probs, 100, patient_groups=groups)
  assert by_patient["accuracy"]["unit"] == "patient"
  perfect = metrics.bootstrap_intervals(labels, _onehot_probs(labels, 3), 50)
  assert perfect["accuracy"]["low"] == perfect["accuracy"]["high"] == 1.0


def test_compute_all_bootstrap_and_select_by():
  r = metrics.compute_all(LABELS, _onehot_probs(PREDS, 3), ["a", "b", "c"],
                          graded=True, bootstrap=20)
  assert set(r["bootstrap"]) == {"accuracy", "kappa", "auc"}
  assert metrics.headline_value(r, "kappa") == pytest.approx(2 / 7)
  ungraded = metrics.compute_all(LABELS, _onehot_probs(PREDS, 3), ["a", "b", "c"])
  with pytest.raises(ValueError, match="graded"):
    metrics.headline_value(ungraded, "kappa")
  with pytest.raises(ValueError, match="select_by"):
    metrics.headline_value(r, "loss")


# Folders abnormal/ and normal/: alphabetical order puts abnormal at index 0.
AB_NAMES = ["abnormal", "normal"]
AB_LABELS = np.array([0, 0, 0, 1, 1, 1, 1])            # 3 abnormal, 4 normal
P_ABNORMAL = np.array([0.9, 0.6, 0.2, 0.7, 0.4, 0.1, 0.3])


def _ab_probs():
  return np.stack([P_ABNORMAL, 1 - P_ABNORMAL], axis=1)


def test_default_positive_class_is_the_finding_not_index_1():
  r = metrics.compute_all(AB_LABELS, _ab_probs(), AB_NAMES, threshold=0.5)
  b = r["binary"]
  assert (r["positive_class"], b["positive_class"], b["positive_index"]) == (
      "abnormal", "abnormal", 0)
  assert "default" in b["positive_chosen_by"]
  # abnormal called when P(abnormal) >= 0.5: 2 of 3 abnormal films found,
  # 1 of 4 normal films called abnormal.
  assert (b["tp"], b["fn"], b["fp"], b["tn"]) == (2, 1, 1, 3)
  assert b["sensitivity"] == pytest.approx(2 / 3)
  assert b["specificity"] == pytest.approx(3 / 4)
  assert r["confusion_matrix"] == [[2, 1], [1, 3]]
  # The threshold is on P(abnormal): lower it and more films are abnormal.
  low = metrics.compute_all(AB_LABELS, _ab_probs(), AB_NAMES, threshold=0.15)
  assert (low["binary"]["sensitivity"], low["binary"]["specificity"]) == (1.0, 0.25)


def test_positive_class_by_name_or_index_and_one_line_errors():
  as_normal = metrics.compute_all(AB_LABELS, _ab_probs(), AB_NAMES,
                                  positive_class="normal")
  b = as_normal["binary"]
  assert (b["positive_class"], b["positive_index"]) == ("normal", 1)
  assert b["positive_chosen_by"] == "--positive_class"
  # normal when P(normal) >= 0.5: P(abnormal) <= 0.5 -> 0.2, 0.4, 0.1, 0.3
  assert (b["sensitivity"], b["specificity"]) == (0.75, pytest.approx(2 / 3))
  assert metrics.positive_class_index(AB_NAMES, "0") == 0
  assert metrics.positive_class_index(AB_NAMES, 1) == 1
  with pytest.raises(ValueError) as err:
    metrics.positive_class_index(AB_NAMES, "pneumonia")
  assert str(err.value) == ("--positive_class=pneumonia names no class; the "
                            "classes are: abnormal (0), normal (1)")
  with pytest.raises(ValueError, match="--positive_class=2 names no class"):
    metrics.positive_class_index(AB_NAMES, "2")
  with pytest.raises(ValueError, match="--positive_class=1 applies to binary"):
    metrics.compute_all(LABELS, _onehot_probs(PREDS, 3), ["a", "b", "c"],
                        positive_class="1")
  with pytest.raises(ValueError, match="multi-label"):
    metrics.positive_class_index(["Effusion", "Mass"], "Mass", multilabel=True)


@pytest.mark.parametrize("names, positive, chosen_by", [
    (["NORMAL", "PNEUMONIA"], "PNEUMONIA", "default: the class not"),
    (["negative", "positive"], "positive", "default: the class not"),
    (["malignant", "benign"], "malignant", "default: the class not"),
    (["no_finding", "finding"], "finding", "default: the class not"),
    (["0", "1"], "1", "default: the class not"),
    (["CNV", "DME"], "DME", "default: index 1"),      # nothing says which
])
def test_default_positive_class_rule(names, positive, chosen_by):
  described = metrics.describe_positive_class(names)
  assert described["name"] == positive
  assert described["chosen_by"].startswith(chosen_by)


def test_multilabel_checkpoints_are_ranked_by_mean_auc():
  labels = np.array([[1, 0], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0]])
  # A: says "no finding" everywhere (high per-element accuracy, AUC 0.5/0.5);
  # B: ranks every positive first (AUC 1.0) at a threshold that calls more.
  a = metrics.compute_all(labels, np.full((6, 2), 0.1), ["Effusion", "Mass"],
                          multilabel=True)
  b = metrics.compute_all(labels, np.array([[.9, .6], [.6, .1], [.6, .1],
                                            [.1, .9], [.6, .1], [.1, .6]]),
                          ["Effusion", "Mass"], multilabel=True)
  assert a["accuracy"] > b["accuracy"]
  assert metrics.headline_value(a, "auc") == pytest.approx(0.5)
  assert metrics.headline_value(b, "auc") == pytest.approx(1.0)
  b["auc"] = 0.0   # the ranked value is the mean over findings, by name
  assert metrics.headline_value(b, "auc") == pytest.approx(1.0)
  for name in ("accuracy", "kappa"):
    with pytest.raises(ValueError, match="--select_by=%s: multi-label data is "
                       "ranked by mean AUC over findings; pass --select_by=auc"
                       % name):
      metrics.headline_value(a, name)
