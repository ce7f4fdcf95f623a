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
