"""Evaluation outputs: printed table, metrics.json, predictions CSV, PNG plots
(matplotlib Agg) and TensorBoard summaries (scalars and the confusion matrix
as an image).

Nothing here identifies a patient: rows carry the record's ``source_id`` and
the already-anonymised ``patient_group`` token.
"""
import csv
import io
import json
import math
import os
import struct
from typing import Dict, Optional, Sequence

import numpy as np

METRICS_FILENAME = "metrics.json"
PREDICTIONS_FILENAME = "predictions.csv"
CONFUSION_FILENAME = "confusion_matrix.png"
CONFUSION_SUMMARY_TAG = "eval/confusion_matrix"
ROC_FILENAME = "roc_curves.png"
RELIABILITY_FILENAME = "reliability_diagram.png"


def _makedirs(path):
  import tensorflow as tf
  tf.io.gfile.makedirs(path)


def _write_text(path, text):
  import tensorflow as tf
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(text)


def _write_bytes(path, data):
  import tensorflow as tf
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(data)


def to_jsonable(value):
  """numpy -> Python; NaN/inf -> None (strict JSON)."""
  if isinstance(value, dict):
    return {str(k): to_jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_jsonable(v) for v in value]
  if isinstance(value, np.ndarray):
    return to_jsonable(value.tolist())
  if isinstance(value, (np.integer,)):
    return int(value)
  if isinstance(value, (np.floating, float)):
    value = float(value)
    return None if (math.isnan(value) or math.isinf(value)) else value
  if isinstance(value, bytes):
    return value.decode("utf-8")
  return value


def write_metrics_json(result: Dict, path: str) -> None:
  _write_text(path, json.dumps(to_jsonable(result), indent=2, allow_nan=False) + "\n")


def write_predictions_csv(path: str, ids, patient_groups, labels, probabilities,
                          class_names: Sequence[str], multilabel: bool = False,
                          threshold: float = 0.5, positive_class=None,
                          labels_offset: int = 0) -> None:
  """One row per example: source_id, patient_group, label(s), prediction(s),
  and one probability column per class (``p_<class>``). Binary predictions
  are the positive class when P(positive) >= threshold (``positive_class``:
  see ``metrics.positive_class_index``). ``labels`` and ``class_names`` are
  the net's (after --labels_offset); the numeric ``label``/``prediction``
  columns are the dataset's class indices (labels.txt), i.e. the net's index
  plus ``labels_offset``, so they agree with ``label_name``/``prediction_name``."""
  from evaluation import metrics as metrics_lib
  probabilities = np.asarray(probabilities)
  labels = np.asarray(labels)
  positive = metrics_lib.positive_class_index(class_names, positive_class,
                                              multilabel)
  preds = metrics_lib.predictions_from(probabilities, multilabel, threshold,
                                       1 if positive is None else positive)
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  header = ["source_id", "patient_group"]
  if multilabel:
    header += ["label_%s" % n for n in class_names]
    header += ["pred_%s" % n for n in class_names]
  else:
    header += ["label", "label_name", "prediction", "prediction_name"]
  header += ["p_%s" % n for n in class_names]
  writer.writerow(header)
  for i in range(probabilities.shape[0]):
    sid = ids[i].decode("utf-8") if isinstance(ids[i], bytes) else str(ids[i])
    grp = patient_groups[i] if patient_groups is not None else ""
    grp = grp.decode("utf-8") if isinstance(grp, bytes) else str(grp)
    row = [sid, grp]
    if multilabel:
      row += [int(v) for v in labels[i]] + [int(v) for v in preds[i]]
    else:
      row += [int(labels[i]) + labels_offset, class_names[int(labels[i])],
              int(preds[i]) + labels_offset, class_names[int(preds[i])]]
    row += ["%.6f" % p for p in probabilities[i]]
    writer.writerow(row)
  _write_text(path, out.getvalue())


def _fmt(value, digits=4):
  if value is None:
    return "-"
  if isinstance(value, (int, np.integer)):
    return str(int(value))
  value = float(value)
  return "nan" if math.isnan(value) else "%.*f" % (digits, value)


def format_table(result: Dict, title: str = "") -> str:
  """Human-readable summary of ``metrics.compute_all`` output."""
  lines = []
  if title:
    lines += [title, "=" * len(title)]
  boot = result.get("bootstrap", {})

  def headline(name, key):
    if key not in result:
      return
    text = "%-22s %s" % (name, _fmt(result[key]))
    if key in boot:
      b = boot[key]
      text += "  (95%% CI %s-%s, %d %s resamples)" % (
          _fmt(b["low"]), _fmt(b["high"]), b["num_samples"], b["unit"])
    lines.append(text)

  lines.append("%-22s %s" % ("examples", result.get("num_examples")))
  headline("accuracy", "accuracy")
  for key in sorted(k for k in result if k.startswith("top_")):
    headline(key.replace("_", " "), key)
  headline("kappa (quadratic)", "kappa")
  headline("AUC (mean one-vs-rest)" if result["task"] == "multiclass" else "AUC", "auc")
  if "binary" in result:
    b = result["binary"]
    if "positive_class" in b:
      lines.append("%-22s %s (index %d; %s)" % (
          "positive class", b["positive_class"], b["positive_index"],
          b["positive_chosen_by"]))
    lines.append("%-22s %s   specificity %s   (threshold %s on P(%s))" % (
        "sensitivity", _fmt(b["sensitivity"]), _fmt(b["specificity"]),
        _fmt(b["threshold"], 2), b.get("positive_class", "class 1")))
  if "calibration" in result:
    lines.append("%-22s %s" % ("ECE (%d bins)" % result["calibration"]["num_bins"],
                               _fmt(result["calibration"]["ece"])))
  lines.append("")
  if result["task"] == "multilabel":
    lines.append("%-24s %8s %8s %8s %8s" % ("finding", "positives", "AUC", "sens", "spec"))
    for f in result["per_finding"]:
      lines.append("%-24s %8d %8s %8s %8s" % (
          f["finding"][:24], f["positives"], _fmt(f["auc"]),
          _fmt(f["sensitivity"]), _fmt(f["specificity"])))
  else:
    lines.append("%-16s %7s %9s %9s %9s %9s %9s" % (
        "class", "support", "precision", "recall", "specific", "F1", "AUC"))
    for c in result["per_class"]:
      lines.append("%-16s %7d %9s %9s %9s %9s %9s" % (
          c["class"][:16], c["support"], _fmt(c["precision"]), _fmt(c["recall"]),
          _fmt(c["specificity"]), _fmt(c["f1"]), _fmt(c["auc"])))
    for avg in ("macro", "weighted"):
      a = result[avg]
      lines.append("%-16s %7s %9s %9s %9s %9s" % (
          avg + " avg", "", _fmt(a["precision"]), _fmt(a["recall"]),
          _fmt(a["specificity"]), _fmt(a["f1"])))
    lines.append("")
    lines.append("confusion matrix (rows = label, columns = prediction):")
    names = [c["class"][:8] for c in result["per_class"]]
    lines.append("%10s " % "" + " ".join("%8s" % n for n in names))
    for name, row in zip(names, result["confusion_matrix"]):
      lines.append("%10s " % name + " ".join("%8d" % v for v in row))
  if "patient_level" in result:
    lines.append("")
    p = result["patient_level"]
    lines.append("patient level (%d patients, %s):" % (p["num_patients"], p["aggregation"]))
    text = "  accuracy %s   AUC %s" % (_fmt(p.get("accuracy")), _fmt(p.get("auc")))
    if "kappa" in p:
      text += "   kappa %s" % _fmt(p["kappa"])
    if "binary" in p:
      text += "   sensitivity %s   specificity %s" % (
          _fmt(p["binary"]["sensitivity"]), _fmt(p["binary"]["specificity"]))
    lines.append(text)
  return "\n".join(lines)


def scalar_summaries(result: Dict) -> Dict[str, float]:
  """The scalars written to TensorBoard (tag -> value), NaNs left out."""
  scalars = {}

  def put(tag, value):
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
      scalars[tag] = float(value)

  for key in ("accuracy", "kappa", "auc", "exact_match"):
    put("eval/" + key, result.get(key))
  for key in result:
    if key.startswith("top_"):
      put("eval/" + key, result[key])
  if "calibration" in result:
    put("eval/ece", result["calibration"]["ece"])
  if "binary" in result:
    put("eval/sensitivity", result["binary"]["sensitivity"])
    put("eval/specificity", result["binary"]["specificity"])
  if result["task"] == "multilabel":
    for f in result["per_finding"]:
      put("eval/auc/%s" % f["finding"], f["auc"])
  else:
    put("eval/macro_f1", result["macro"]["f1"])
    for c in result["per_class"]:
      put("eval/recall/%s" % c["class"], c["recall"])
  if "patient_level" in result:
    p = result["patient_level"]
    for key in ("accuracy", "kappa", "auc"):
      put("eval_patient/" + key, p.get(key))
  return scalars


def _png_size(data: bytes):
  """(width, height) from a PNG's IHDR chunk."""
  return struct.unpack(">II", data[16:24])


def write_summaries(eval_dir: str, result: Dict, global_step: int) -> None:
  """Appends one evaluation to an event file in eval_dir: the scalars, and
  for single-label tasks the confusion matrix as an image
  (CONFUSION_SUMMARY_TAG, TensorBoard's Images tab)."""
  from tf_compat import tf
  values = [tf.compat.v1.Summary.Value(tag=tag, simple_value=value)
            for tag, value in sorted(scalar_summaries(result).items())]
  if "confusion_matrix" in result and "per_class" in result:
    png = confusion_matrix_png(
        result["confusion_matrix"], [c["class"] for c in result["per_class"]],
        "Confusion matrix, step %d" % global_step)
    width, height = _png_size(png)
    values.append(tf.compat.v1.Summary.Value(
        tag=CONFUSION_SUMMARY_TAG, image=tf.compat.v1.Summary.Image(
            height=height, width=width, colorspace=4, encoded_image_string=png)))
  with tf.Graph().as_default():
    # Event file names have one-second resolution: two evaluations in the same
    # second would share (and truncate) one file without a per-step suffix.
    writer = tf.compat.v1.summary.FileWriter(
        eval_dir, filename_suffix=".step%d" % global_step)
    writer.add_summary(tf.compat.v1.Summary(value=values), global_step)
    writer.close()


# -------------------------------------------------------------- plots ------

def _pyplot():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _png_bytes(fig) -> bytes:
  plt = _pyplot()
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
  plt.close(fig)
  return buf.getvalue()


def _save(fig, path):
  _write_bytes(path, _png_bytes(fig))


def plot_confusion_matrix(confusion, class_names, path, title="Confusion matrix"):
  _write_bytes(path, confusion_matrix_png(confusion, class_names, title))


def confusion_matrix_png(confusion, class_names, title="Confusion matrix") -> bytes:
  """The confusion matrix (rows = label, columns = prediction) as PNG bytes."""
  plt = _pyplot()
  cm = np.asarray(confusion)
  n = len(class_names)
  fig, ax = plt.subplots(figsize=(1.2 + 0.6 * n, 1.0 + 0.6 * n))
  ax.imshow(cm, cmap="Blues")
  ax.set_xticks(range(n))
  ax.set_yticks(range(n))
  ax.set_xticklabels(class_names, rotation=45, ha="right")
  ax.set_yticklabels(class_names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("label")
  ax.set_title(title)
  high = cm.max() if cm.size else 0
  for i in range(n):
    for j in range(n):
      ax.text(j, i, str(cm[i, j]), ha="center", va="center",
              color="white" if high and cm[i, j] > high / 2 else "black")
  return _png_bytes(fig)


def plot_roc_curves(labels, probabilities, class_names, path,
                    multilabel: bool = False, title="ROC curves",
                    positive_class=None):
  """One-vs-rest ROC per class (per finding for multi-label data); for a
  binary task only the positive class (``metrics.positive_class_index``)."""
  from sklearn import metrics as skm
  from evaluation import metrics as metrics_lib
  plt = _pyplot()
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities)
  fig, ax = plt.subplots(figsize=(5, 5))
  classes = range(probabilities.shape[1])
  if not multilabel and probabilities.shape[1] == 2:
    classes = [metrics_lib.positive_class_index(class_names, positive_class)]
  for c in classes:
    y = labels[:, c] if multilabel else (labels == c)
    if np.unique(y).size < 2:
      continue
    fpr, tpr, _ = skm.roc_curve(y, probabilities[:, c])
    ax.plot(fpr, tpr, label="%s (AUC %.3f)" % (class_names[c], skm.auc(fpr, tpr)))
  ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
  ax.set_xlabel("1 - specificity")
  ax.set_ylabel("sensitivity")
  ax.set_title(title)
  ax.legend(loc="lower right", fontsize="small")
  _save(fig, path)


def plot_reliability(calibration: Dict, path, title="Reliability diagram"):
  plt = _pyplot()
  bins = calibration["bins"]
  centers = [(b["lower"] + b["upper"]) / 2 for b in bins]
  width = 1.0 / max(len(bins), 1)
  accs = [0.0 if b["count"] == 0 else b["accuracy"] for b in bins]
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.bar(centers, accs, width=width * 0.95, edgecolor="black", label="observed")
  ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
  ax.set_xlim(0, 1)
  ax.set_ylim(0, 1)
  ax.set_xlabel("predicted probability (confidence)")
  ax.set_ylabel("observed frequency (accuracy)")
  ax.set_title("%s, ECE %.3f" % (title, calibration["ece"]))
  ax.legend(loc="upper left")
  _save(fig, path)


def write_all(eval_dir: str, result: Dict, ids, patient_groups, labels,
              probabilities, class_names, multilabel: bool = False,
              threshold: float = 0.5, title: str = "",
              global_step: Optional[int] = None,
              positive_class=None, labels_offset: int = 0) -> Dict[str, str]:
  """Writes every report file for one evaluation; returns {kind: path}."""
  _makedirs(eval_dir)
  paths = {
      "metrics": os.path.join(eval_dir, METRICS_FILENAME),
      "predictions": os.path.join(eval_dir, PREDICTIONS_FILENAME),
      "roc": os.path.join(eval_dir, ROC_FILENAME),
      "reliability": os.path.join(eval_dir, RELIABILITY_FILENAME),
  }
  write_metrics_json(result, paths["metrics"])
  write_predictions_csv(paths["predictions"], ids, patient_groups, labels,
                        probabilities, class_names, multilabel, threshold,
                        positive_class, labels_offset)
  if not multilabel:
    paths["confusion_matrix"] = os.path.join(eval_dir, CONFUSION_FILENAME)
    plot_confusion_matrix(result["confusion_matrix"], class_names,
                          paths["confusion_matrix"], title or "Confusion matrix")
  plot_roc_curves(labels, probabilities, class_names, paths["roc"], multilabel,
                  positive_class=positive_class)
  plot_reliability(result["calibration"], paths["reliability"])
  if global_step is not None:
    write_summaries(eval_dir, result, global_step)
  return paths
