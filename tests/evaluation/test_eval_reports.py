"""evaluation.reports: files a clinician or a script can read back."""
import csv
import json

import numpy as np
from PIL import Image

from evaluation import metrics, reports


def _case():
  labels = np.array([0, 1, 2, 2, 1])
  probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6],
                    [0.5, 0.1, 0.4], [0.3, 0.4, 0.3]])
  ids = [b"img0", b"img1", b"img2", b"img3", b"img4"]
  groups = [b"p0", b"p0", b"p1", b"p1", b""]
  return labels, probs, ids, groups


def test_write_all_produces_readable_json_csv_and_pngs(tmp_path):
  labels, probs, ids, groups = _case()
  names = ["0", "1", "2"]
  result = metrics.compute_all(labels, probs, names, graded=True,
                               patient_groups=groups, ids=ids, bootstrap=10)
  paths = reports.write_all(str(tmp_path), result, ids, groups, labels, probs,
                            names, global_step=7)
  loaded = json.loads(open(paths["metrics"]).read())
  assert loaded["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [1, 0, 1]]
  assert loaded["accuracy"] == 0.8
  assert "patient_level" in loaded and "bootstrap" in loaded
  rows = list(csv.DictReader(open(paths["predictions"])))
  assert [r["source_id"] for r in rows] == ["img0", "img1", "img2", "img3", "img4"]
  assert rows[3]["label"] == "2" and rows[3]["prediction"] == "0"
  assert float(rows[3]["p_0"]) == 0.5 and rows[0]["patient_group"] == "p0"
  for key in ("confusion_matrix", "roc", "reliability"):
    with Image.open(paths[key]) as im:
      assert im.format == "PNG" and im.size[0] > 100
  events = list(tmp_path.glob("events.out.tfevents.*"))
  assert events, "TensorBoard event file missing"
  table = reports.format_table(result, "demo")
  assert "kappa" in table and "patient level" in table and "specific" in table


def test_nan_becomes_null_in_json(tmp_path):
  labels = np.array([0, 0, 1])
  probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
  result = metrics.compute_all(labels, probs, ["a", "b", "c"])
  path = str(tmp_path / "m.json")
  reports.write_metrics_json(result, path)
  loaded = json.loads(open(path).read())
  assert loaded["per_class"][2]["auc"] is None


def test_multilabel_reports(tmp_path):
  labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
  probs = np.array([[0.9, 0.8], [0.2, 0.3], [0.6, 0.7], [0.4, 0.1]])
  result = metrics.compute_all(labels, probs, ["Effusion", "Mass"], multilabel=True)
  paths = reports.write_all(str(tmp_path), result, ["a", "b", "c", "d"], None,
                            labels, probs, ["Effusion", "Mass"], multilabel=True)
  rows = list(csv.DictReader(open(paths["predictions"])))
  assert rows[2]["label_Mass"] == "1" and rows[2]["pred_Effusion"] == "1"
  assert "finding" in reports.format_table(result)


def _events(directory):
  from tf_compat import tf
  for path in sorted(directory.glob("events.out.tfevents.*")):
    yield from tf.compat.v1.train.summary_iterator(str(path))


def test_confusion_matrix_is_an_image_summary_in_eval_dir(tmp_path):
  labels, probs, ids, groups = _case()
  result = metrics.compute_all(labels, probs, ["0", "1", "2"], graded=True)
  reports.write_summaries(str(tmp_path), result, 42)
  images = [(e.step, v) for e in _events(tmp_path) for v in e.summary.value
            if v.HasField("image")]
  assert [(step, v.tag) for step, v in images] == [(42, reports.CONFUSION_SUMMARY_TAG)]
  image = images[0][1].image
  import io
  with Image.open(io.BytesIO(image.encoded_image_string)) as im:
    assert im.format == "PNG" and im.size == (image.width, image.height)
    assert im.size[0] > 100
  # the scalars are still there, in the same event
  tags = {v.tag for e in _events(tmp_path) for v in e.summary.value}
  assert {"eval/accuracy", "eval/kappa"} <= tags
  # multi-label data has no confusion matrix: scalars only
  ml_dir = tmp_path / "multilabel"
  ml = metrics.compute_all(np.array([[1, 0], [0, 1]]), np.array([[.9, .2], [.3, .7]]),
                           ["Effusion", "Mass"], multilabel=True)
  reports.write_summaries(str(ml_dir), ml, 1)
  assert not [v for e in _events(ml_dir) for v in e.summary.value if v.HasField("image")]


def test_binary_report_names_the_positive_class(tmp_path):
  """abnormal/ and normal/ folders: abnormal is index 0 and is the positive
  class; the table, metrics.json, predictions.csv and ROC agree."""
  names = ["abnormal", "normal"]
  labels = np.array([0, 0, 1, 1])
  p_abnormal = np.array([0.8, 0.4, 0.3, 0.6])
  probs = np.stack([p_abnormal, 1 - p_abnormal], axis=1)
  result = metrics.compute_all(labels, probs, names, threshold=0.5)
  table = reports.format_table(result)
  assert "positive class         abnormal (index 0; default:" in table
  assert "(threshold 0.50 on P(abnormal))" in table
  paths = reports.write_all(str(tmp_path), result, ["a", "b", "c", "d"], None,
                            labels, probs, names, threshold=0.5)
  assert json.load(open(paths["metrics"]))["binary"]["positive_class"] == "abnormal"
  rows = list(csv.DictReader(open(paths["predictions"])))
  assert [r["prediction_name"] for r in rows] == ["abnormal", "normal", "normal",
                                                  "abnormal"]
  chosen = metrics.compute_all(labels, probs, names, positive_class="normal")
  assert "positive class         normal (index 1; --positive_class)" in \
      reports.format_table(chosen)
  paths = reports.write_all(str(tmp_path / "n"), chosen, ["a", "b", "c", "d"], None,
                            labels, probs, names, threshold=0.7,
                            positive_class="normal")
  rows = list(csv.DictReader(open(paths["predictions"])))
  # normal only when P(normal) >= 0.7: just the 0.3-abnormal film
  assert [r["prediction_name"] for r in rows] == ["abnormal", "abnormal", "normal",
                                                  "abnormal"]


def test_predictions_csv_numbers_are_dataset_classes_under_labels_offset(tmp_path):
  """--labels_offset=1: the net's classes are the dataset's 1..3; label and
  prediction columns give the dataset's index (labels.txt), matching the names."""
  labels, probs, ids, groups = _case()
  dataset_names = ["background", "mild", "moderate", "severe"]
  path = str(tmp_path / "predictions.csv")
  reports.write_predictions_csv(path, ids, groups, labels, probs,
                                dataset_names[1:], labels_offset=1)
  rows = list(csv.DictReader(open(path)))
  assert rows[3]["label"] == "3" and rows[3]["label_name"] == "severe"
  assert rows[3]["prediction"] == "1" and rows[3]["prediction_name"] == "mild"
  for row in rows:
    assert dataset_names[int(row["label"])] == row["label_name"]
    assert dataset_names[int(row["prediction"])] == row["prediction_name"]
