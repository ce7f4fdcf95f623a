"""Clinical classification metrics on numpy arrays (no TensorFlow here).

Everything a report needs is computed from three arrays gathered once per
checkpoint: ``labels`` ([N] class indices, or [N, C] multi-hot for multi-label
data), ``probabilities`` ([N, C] softmax or per-finding sigmoid) and,
optionally, ``patient_groups`` ([N] strings). scikit-learn does the counting;
this module decides which numbers a task needs:

* multi-class: accuracy, top-k, confusion matrix, per-class precision, recall
  (sensitivity), specificity, F1 with macro and weighted averages, one-vs-rest
  ROC AUC; quadratic weighted kappa when the labels are grades.
* binary (two classes): the above plus sensitivity/specificity of the positive
  class at ``threshold`` -- the positive class is predicted when
  ``P(positive) >= threshold``. Which class is positive: ``positive_class``
  (a name or an index), else the class that is not named like a negative
  finding (``normal``, ``negative``, ``0``, ``healthy``, ``benign``, ...),
  else index 1 (see ``positive_class_index``); the result names it.
* multi-label: per-finding AUC and sensitivity/specificity at ``threshold``,
  mean AUC (the headline: checkpoints are ranked by it).
* calibration: expected calibration error with its reliability-diagram bins.
* bootstrap 95% intervals for accuracy, kappa and AUC, resampling patients
  (not images) when patient groups are known.
* patient-level aggregation (both eyes, several films of one patient).

Undefined values (AUC of a class absent from the sample, ...) are NaN and
written to JSON as null.
"""
import math
import re
from typing import Dict, Optional, Sequence

import numpy as np
from sklearn import metrics as skm

DEFAULT_NUM_BINS = 10


def _nan_mean(values):
  values = [v for v in values if v is not None and not math.isnan(v)]
  return float(np.mean(values)) if values else float("nan")


# Class names that mean "no finding": in a binary task the other class is
# the positive one. Compared lower-case with '-', '_' and spaces removed, and
# whole names only (so "abnormal" is not "normal").
NEGATIVE_NAMES = frozenset((
    "normal", "negative", "neg", "0", "no", "false", "healthy", "benign",
    "absent", "nofinding", "nodisease", "none", "control", "clear"))


def _is_negative_name(name) -> bool:
  key = re.sub(r"[\s_\-]+", "", str(name).lower())
  return key in NEGATIVE_NAMES


def positive_class_index(class_names: Sequence[str], positive_class=None,
                         multilabel: bool = False) -> Optional[int]:
  """Index of the positive class of a binary task (None for other tasks).

  ``positive_class`` (--positive_class) is a class name, or an index into
  ``class_names`` (a name wins when a class is named like a number). Unset:
  when exactly one of the two classes is named like a negative finding
  (NEGATIVE_NAMES: normal, negative, 0, healthy, benign, ...) the other one is
  positive -- ``abnormal/normal`` gives ``abnormal`` although it sorts first
  -- otherwise index 1. A ``positive_class`` that names no class, or one given
  for a task that is not binary, is a ValueError.
  """
  names = [str(n) for n in class_names]
  listing = ", ".join("%s (%d)" % (n, i) for i, n in enumerate(names))
  if multilabel or len(names) != 2:
    if positive_class is not None and str(positive_class) != "":
      raise ValueError(
          "--positive_class=%s applies to binary tasks only; this one is %s "
          "(classes: %s): drop the flag"
          % (positive_class, "multi-label" if multilabel
             else "%d-class" % len(names), listing))
    return None
  if positive_class is None or str(positive_class) == "":
    negative = [i for i, n in enumerate(names) if _is_negative_name(n)]
    return 1 - negative[0] if len(negative) == 1 else 1
  if isinstance(positive_class, (int, np.integer)) and not isinstance(positive_class, bool):
    index = int(positive_class)
  elif str(positive_class) in names:
    return names.index(str(positive_class))
  else:
    text = str(positive_class).strip()
    index = int(text) if re.fullmatch(r"-?\d+", text) else None
  if index is None or not 0 <= index < len(names):
    raise ValueError("--positive_class=%s names no class; the classes are: %s"
                     % (positive_class, listing))
  return index


def describe_positive_class(class_names: Sequence[str], positive_class=None) -> Dict:
  """{"name", "index", "chosen_by"} of the positive class of a binary task."""
  index = positive_class_index(class_names, positive_class)
  if positive_class is not None and str(positive_class) != "":
    chosen_by = "--positive_class"
  elif any(_is_negative_name(n) for n in class_names) and not all(
      _is_negative_name(n) for n in class_names):
    chosen_by = "default: the class not named like a negative finding"
  else:
    chosen_by = "default: index 1 (pass --positive_class to choose)"
  return {"name": str(class_names[index]), "index": index, "chosen_by": chosen_by}


def predictions_from(probabilities: np.ndarray, multilabel: bool = False,
                     threshold: float = 0.5, positive_class: int = 1) -> np.ndarray:
  """Predicted classes: argmax; for binary tasks the ``positive_class``
  index when ``P(positive) >= threshold``, else the other class; a multi-hot
  ``p >= threshold`` for multi-label ones."""
  probabilities = np.asarray(probabilities, dtype=np.float64)
  if multilabel:
    return (probabilities >= threshold).astype(np.int64)
  if probabilities.shape[1] == 2:
    positive = int(positive_class)
    return np.where(probabilities[:, positive] >= threshold, positive,
                    1 - positive).astype(np.int64)
  return np.argmax(probabilities, axis=1).astype(np.int64)


def binary_auc(y_true, scores) -> float:
  """ROC AUC, NaN when only one class is present."""
  y_true = np.asarray(y_true)
  if y_true.size == 0 or np.unique(y_true).size < 2:
    return float("nan")
  return float(skm.roc_auc_score(y_true, scores))


def sensitivity_specificity(y_true, y_pred) -> Dict[str, float]:
  """Binary sensitivity (recall of 1) and specificity (recall of 0)."""
  tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
  return {
      "sensitivity": float(tp / (tp + fn)) if tp + fn else float("nan"),
      "specificity": float(tn / (tn + fp)) if tn + fp else float("nan"),
      "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn),
  }


def quadratic_weighted_kappa(labels, predictions, num_classes: int) -> float:
  """Cohen's kappa with quadratic weights (Kaggle DR's metric)."""
  labels = np.asarray(labels)
  predictions = np.asarray(predictions)
  if labels.size == 0:
    return float("nan")
  if np.array_equal(labels, predictions):
    return 1.0
  value = skm.cohen_kappa_score(labels, predictions, weights="quadratic",
                                labels=list(range(num_classes)))
  return float(value)


def one_vs_rest_auc(labels, probabilities) -> Dict[str, object]:
  """Per-class one-vs-rest AUC and their mean over the defined ones."""
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities)
  per_class = [binary_auc(labels == c, probabilities[:, c])
               for c in range(probabilities.shape[1])]
  return {"per_class": per_class, "macro": _nan_mean(per_class)}


def calibration(labels, probabilities, multilabel: bool = False,
                num_bins: int = DEFAULT_NUM_BINS,
                positive_class: int = 1) -> Dict[str, object]:
  """Expected calibration error and the reliability-diagram bins.

  Multi-class: confidence = max probability, outcome = prediction correct.
  Binary: probability of the positive class against the label. Multi-label: every
  (image, finding) probability against its label. Bins are equal-width on
  [0, 1]; ECE = sum over bins of |accuracy - confidence| * share of samples.
  """
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  if multilabel:
    confidence = probabilities.ravel()
    outcome = labels.ravel().astype(np.float64)
  elif probabilities.shape[1] == 2:
    confidence = probabilities[:, positive_class]
    outcome = (labels == positive_class).astype(np.float64)
  else:
    confidence = probabilities.max(axis=1)
    outcome = (probabilities.argmax(axis=1) == labels).astype(np.float64)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  # Bin i holds (edges[i], edges[i+1]]; 0.0 goes into the first bin.
  index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0,
                  num_bins - 1)
  bins = []
  ece = 0.0
  total = max(confidence.size, 1)
  for i in range(num_bins):
    mask = index == i
    count = int(mask.sum())
    if count:
      conf = float(confidence[mask].mean())
      acc = float(outcome[mask].mean())
      ece += abs(acc - conf) * count / total
    else:
      conf = acc = float("nan")
    bins.append({"lower": float(edges[i]), "upper": float(edges[i + 1]),
                 "count": count, "confidence": conf, "accuracy": acc})
  return {"ece": float(ece) if confidence.size else float("nan"),
          "num_bins": num_bins, "bins": bins}


def multiclass_metrics(labels, probabilities, class_names: Sequence[str],
                       graded: bool = False, top_k: int = 5,
                       threshold: float = 0.5,
                       predictions: Optional[np.ndarray] = None,
                       positive_class=None) -> Dict:
  """``positive_class``: see ``positive_class_index`` (binary tasks)."""
  labels = np.asarray(labels).astype(np.int64)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  num_classes = probabilities.shape[1]
  positive = positive_class_index(class_names, positive_class)
  if predictions is None:
    predictions = predictions_from(probabilities, False, threshold,
                                   positive if positive is not None else 1)
  class_ids = list(range(num_classes))
  cm = skm.confusion_matrix(labels, predictions, labels=class_ids)
  precision, recall, f1, support = skm.precision_recall_fscore_support(
      labels, predictions, labels=class_ids, zero_division=0)
  total = cm.sum()
  tp = np.diag(cm)
  fp = cm.sum(axis=0) - tp
  fn = cm.sum(axis=1) - tp
  tn = total - tp - fp - fn
  with np.errstate(invalid="ignore", divide="ignore"):
    specificity = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), np.nan)
  auc = one_vs_rest_auc(labels, probabilities)
  weights = support / support.sum() if support.sum() else np.zeros_like(support)

  def _averages(values):
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    macro = float(values[defined].mean()) if defined.any() else float("nan")
    weighted = (float(np.sum(values[defined] * weights[defined]))
                if defined.any() else float("nan"))
    return {"macro": macro, "weighted": weighted}

  per_class = []
  for c in class_ids:
    per_class.append({
        "class": str(class_names[c]), "support": int(support[c]),
        "precision": float(precision[c]), "recall": float(recall[c]),
        "sensitivity": float(recall[c]), "specificity": float(specificity[c]),
        "f1": float(f1[c]), "auc": auc["per_class"][c]})
  result = {
      "task": "binary" if num_classes == 2 else "multiclass",
      "num_examples": int(labels.size),
      "accuracy": float(skm.accuracy_score(labels, predictions)) if labels.size else float("nan"),
      "confusion_matrix": cm.tolist(),
      "per_class": per_class,
      "macro": {k: _averages(v)["macro"] for k, v in
                (("precision", precision), ("recall", recall),
                 ("specificity", specificity), ("f1", f1))},
      "weighted": {k: _averages(v)["weighted"] for k, v in
                   (("precision", precision), ("recall", recall),
                    ("specificity", specificity), ("f1", f1))},
      "auc": auc["macro"],
  }
  if top_k and 1 < top_k < num_classes and labels.size:
    result["top_%d_accuracy" % top_k] = float(skm.top_k_accuracy_score(
        labels, probabilities, k=top_k, labels=class_ids))
  if graded:
    result["kappa"] = quadratic_weighted_kappa(labels, predictions, num_classes)
  if num_classes == 2:
    binary = sensitivity_specificity(labels == positive, predictions == positive)
    binary.update({"threshold": float(threshold),
                   "auc": binary_auc(labels == positive,
                                     probabilities[:, positive])})
    described = describe_positive_class(class_names, positive_class)
    binary.update({"positive_class": described["name"],
                   "positive_index": described["index"],
                   "positive_chosen_by": described["chosen_by"]})
    result["positive_class"] = described["name"]
    result["binary"] = binary
    result["auc"] = binary["auc"]
  return result


def multilabel_metrics(labels, probabilities, class_names: Sequence[str],
                       threshold: float = 0.5) -> Dict:
  labels = np.asarray(labels).astype(np.int64)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  predictions = predictions_from(probabilities, True, threshold)
  per_finding = []
  for c, name in enumerate(class_names):
    entry = sensitivity_specificity(labels[:, c], predictions[:, c])
    entry.update({"finding": str(name), "positives": int(labels[:, c].sum()),
                  "auc": binary_auc(labels[:, c], probabilities[:, c])})
    per_finding.append(entry)
  return {
      "task": "multilabel",
      "num_examples": int(labels.shape[0]),
      "threshold": float(threshold),
      "per_finding": per_finding,
      "auc": _nan_mean([f["auc"] for f in per_finding]),
      "mean_auc": _nan_mean([f["auc"] for f in per_finding]),
      # Share of (image, finding) decisions that are right, and of images
      # whose every finding is right.
      "accuracy": float((predictions == labels).mean()) if labels.size else float("nan"),
      "exact_match": float(skm.accuracy_score(labels, predictions)) if labels.size else float("nan"),
  }


def _headline(labels, probabilities, multilabel, graded, threshold,
              predictions=None, positive_class=1):
  """The three numbers the bootstrap resamples."""
  if multilabel:
    preds = predictions_from(probabilities, True, threshold)
    aucs = [binary_auc(labels[:, c], probabilities[:, c])
            for c in range(probabilities.shape[1])]
    return {"accuracy": float((preds == labels).mean()), "auc": _nan_mean(aucs)}
  if predictions is None:
    predictions = predictions_from(probabilities, False, threshold,
                                   positive_class)
  out = {"accuracy": float(np.mean(predictions == labels))}
  if probabilities.shape[1] == 2:
    out["auc"] = binary_auc(labels == positive_class,
                            probabilities[:, positive_class])
  else:
    out["auc"] = one_vs_rest_auc(labels, probabilities)["macro"]
  if graded:
    out["kappa"] = quadratic_weighted_kappa(labels, predictions,
                                            probabilities.shape[1])
  return out


def bootstrap_intervals(labels, probabilities, num_samples: int,
                        multilabel: bool = False, graded: bool = False,
                        threshold: float = 0.5, patient_groups=None,
                        predictions=None, seed: int = 0,
                        confidence: float = 0.95,
                        positive_class: int = 1) -> Dict[str, Dict]:
  """Percentile bootstrap intervals for accuracy, AUC and (graded) kappa.

  With ``patient_groups`` whole patients are resampled, since images of one
  patient are not independent. Resamples where a metric is undefined (one
  class only) are skipped for that metric.
  """
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  if predictions is not None:
    predictions = np.asarray(predictions)
  rng = np.random.default_rng(seed)
  n = labels.shape[0]
  if patient_groups is not None and n:
    keys = [g.decode("utf-8") if isinstance(g, bytes) else str(g)
            for g in patient_groups]
    keys = [g if g else "image:%d" % i for i, g in enumerate(keys)]
    _, group_index = np.unique(np.asarray(keys), return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(group_index.max() + 1)]
  else:
    members = None
  point = _headline(labels, probabilities, multilabel, graded, threshold,
                    predictions, positive_class)
  draws = {k: [] for k in point}
  for _ in range(int(num_samples)):
    if members is not None:
      chosen = rng.integers(0, len(members), len(members))
      idx = np.concatenate([members[g] for g in chosen])
    else:
      idx = rng.integers(0, n, n)
    sample = _headline(labels[idx], probabilities[idx], multilabel, graded,
                       threshold, None if predictions is None else predictions[idx],
                       positive_class)
    for k, v in sample.items():
      if not math.isnan(v):
        draws[k].append(v)
  alpha = (1.0 - confidence) / 2.0
  out = {}
  for k, v in point.items():
    values = np.asarray(draws[k])
    if values.size:
      low, high = np.quantile(values, [alpha, 1.0 - alpha])
    else:
      low = high = float("nan")
    out[k] = {"value": v, "low": float(low), "high": float(high),
              "num_samples": int(values.size), "confidence": confidence,
              "unit": "patient" if members is not None else "image"}
  return out


def aggregate_by_patient(labels, probabilities, patient_groups,
                         multilabel: bool = False, graded: bool = False,
                         threshold: float = 0.5, ids=None,
                         positive_class: int = 1):
  """One row per patient.

  * graded (DR 0-4, pneumoconiosis 0-3): the patient's grade is the worst
    eye/film: label = max label, prediction = max predicted grade;
    probabilities (for AUC, calibration) are the mean over images.
  * other multi-class: label = the most frequent label, probabilities = mean,
    prediction = argmax of the mean.
  * multi-label: a finding is present if any image has it; probability = max.

  Images with an empty patient group count as their own patient.
  Returns (groups, labels, probabilities, predictions).
  """
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  groups = [g.decode("utf-8") if isinstance(g, bytes) else str(g)
            for g in patient_groups]
  if ids is None:
    ids = [str(i) for i in range(len(groups))]
  keys = [g if g else "image:%s" % ids[i] for i, g in enumerate(groups)]
  unique, inverse = np.unique(np.asarray(keys), return_inverse=True)
  image_preds = predictions_from(probabilities, multilabel, threshold,
                                 positive_class)
  out_labels, out_probs, out_preds = [], [], []
  for g in range(len(unique)):
    idx = np.flatnonzero(inverse == g)
    if multilabel:
      out_labels.append(labels[idx].max(axis=0))
      probs = probabilities[idx].max(axis=0)
      out_probs.append(probs)
      out_preds.append((probs >= threshold).astype(np.int64))
    elif graded:
      out_labels.append(labels[idx].max())
      out_probs.append(probabilities[idx].mean(axis=0))
      out_preds.append(image_preds[idx].max())
    else:
      values, counts = np.unique(labels[idx], return_counts=True)
      out_labels.append(values[np.argmax(counts)])
      probs = probabilities[idx].mean(axis=0)
      out_probs.append(probs)
      out_preds.append(predictions_from(probs[None], False, threshold,
                                        positive_class)[0])
  return (list(unique), np.asarray(out_labels), np.asarray(out_probs),
          np.asarray(out_preds))


def compute_all(labels, probabilities, class_names: Sequence[str],
                multilabel: bool = False, graded: bool = False,
                top_k: int = 5, threshold: float = 0.5,
                patient_groups=None, ids=None, bootstrap: int = 0,
                seed: int = 0, num_bins: int = DEFAULT_NUM_BINS,
                positive_class=None) -> Dict:
  """The whole metrics dictionary written to metrics.json.

  Keys: the task's metrics at the image level, ``calibration``,
  ``bootstrap`` (when ``bootstrap`` > 0), and ``patient_level`` (the same
  metrics on per-patient rows) when some patient has several images.
  ``positive_class`` (binary tasks): a name or an index, see
  ``positive_class_index``; the result's ``positive_class`` names it.
  """
  labels = np.asarray(labels)
  probabilities = np.asarray(probabilities, dtype=np.float64)
  positive = positive_class_index(class_names, positive_class, multilabel)
  positive = 1 if positive is None else positive
  if multilabel:
    result = multilabel_metrics(labels, probabilities, class_names, threshold)
  else:
    result = multiclass_metrics(labels, probabilities, class_names, graded,
                                top_k, threshold, positive_class=positive_class)
  result["calibration"] = calibration(labels, probabilities, multilabel, num_bins,
                                      positive)
  have_groups = (patient_groups is not None and len(patient_groups) and
                 any(g not in ("", b"") for g in patient_groups))
  if bootstrap:
    result["bootstrap"] = bootstrap_intervals(
        labels, probabilities, bootstrap, multilabel, graded, threshold,
        patient_groups=patient_groups if have_groups else None, seed=seed,
        positive_class=positive)
  if have_groups:
    groups, p_labels, p_probs, p_preds = aggregate_by_patient(
        labels, probabilities, patient_groups, multilabel, graded, threshold,
        ids=ids, positive_class=positive)
    if len(groups) < labels.shape[0]:
      if multilabel:
        patient = multilabel_metrics(p_labels, p_probs, class_names, threshold)
      else:
        patient = multiclass_metrics(p_labels, p_probs, class_names, graded,
                                     top_k, threshold, predictions=p_preds,
                                     positive_class=positive_class)
      patient["num_patients"] = len(groups)
      patient["aggregation"] = ("any finding / max probability" if multilabel
                                else "max grade / mean probability" if graded
                                else "majority label / mean probability")
      if bootstrap:
        patient["bootstrap"] = bootstrap_intervals(
            p_labels, p_probs, bootstrap, multilabel, graded, threshold,
            predictions=None if multilabel else p_preds, seed=seed,
            positive_class=positive)
      result["patient_level"] = patient
  return result


SELECTABLE = ("kappa", "auc", "accuracy")


def check_select_by(name: str, multilabel: bool = False,
                    graded: bool = True) -> None:
  """ValueError (one line naming --select_by and the fix) when ``name``
  cannot rank checkpoints of this data. Multi-label data is ranked by mean
  AUC over findings only: per-(image, finding) accuracy is mostly the
  negatives and kappa is for grades."""
  if name not in SELECTABLE:
    raise ValueError("--select_by must be one of %s, not %r"
                     % ("|".join(SELECTABLE), name))
  if multilabel and name != "auc":
    raise ValueError("--select_by=%s: multi-label data is ranked by mean AUC "
                     "over findings; pass --select_by=auc" % name)
  if name == "kappa" and not graded:
    raise ValueError("--select_by=kappa needs graded data (dataset_info.json "
                     "'graded': true); use --select_by=auc or accuracy")


def headline_value(result: Dict, name: str) -> float:
  """The value --select_by ranks checkpoints with (NaN when undefined).

  Multi-label results: ``auc`` is the mean AUC over findings, and the other
  names are refused (``check_select_by``).
  """
  multilabel = result.get("task") == "multilabel"
  check_select_by(name, multilabel, graded=result.get("kappa") is not None
                  or name != "kappa")
  value = result.get("mean_auc") if multilabel else result.get(name)
  if value is None:
    return float("nan")
  return float(value)
