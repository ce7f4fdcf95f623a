"""Predictions for raw files: an image, a folder, a CSV list, or DICOMs.

Every file goes through ``datasets.imaging.read_and_prepare`` with the
conversion settings training's data had (``imaging`` of model_spec.json, copied
from dataset_info.json) -- the exact pixels the converter stored -- then through the same decode + eval preprocessing + net as
evaluation (``model.InferenceGraph``), so a file's probabilities equal the ones
eval reports for its record. Unreadable files are listed, not fatal.
"""
import csv
import dataclasses
import io
import os
from typing import List, Optional, Tuple

import numpy as np
from absl import logging
from tqdm import tqdm

from flagdefs import option
from datasets import dataset_factory
from datasets import dataset_info as info_lib
from datasets import imaging
from nets import checkpoints as ckpt_lib
from evaluation import metrics as metrics_lib
from inference import model as model_lib
from nets import model_spec

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif") + \
    tuple(imaging.DICOM_EXTENSIONS)
PATH_COLUMNS = ("path", "file", "filename", "file_name", "image", "Image Index")
OUTPUT_FORMATS = ("csv", "kaggle")


@dataclasses.dataclass
class Item:
  id: str
  path: str


@dataclasses.dataclass
class Failure:
  path: str
  reason: str


def _gfile():
  import tensorflow as tf
  return tf.io.gfile


def _is_image_path(path: str) -> bool:
  if path.lower().endswith(IMAGE_EXTENSIONS):
    return True
  if os.path.splitext(path)[1]:
    return False
  try:   # DICOM files often have no extension
    with _gfile().GFile(path, "rb") as f:
      return imaging.is_dicom(path, f.read(132))
  except Exception:  # unreadable: listed later as a failure if named directly
    return False


def _stem(path: str) -> str:
  name = os.path.basename(path)
  stem, ext = os.path.splitext(name)
  return stem if ext.lower() in IMAGE_EXTENSIONS else name


def _relative_id(path: str, folder: str) -> str:
  """A file's id under a folder: its path relative to the folder, without an
  image extension ('10_left' in a flat folder, '0/1' for class folders that
  repeat file names), so no two inputs share an id."""
  relative = os.path.relpath(path, folder).replace(os.sep, "/")
  stem, ext = os.path.splitext(relative)
  return stem if ext.lower() in IMAGE_EXTENSIONS else relative


def _resolve_csv_entry(value: str, base: str) -> Optional[str]:
  gfile = _gfile()
  candidates = [value] if os.path.isabs(value) or "://" in value else []
  dirs = [base] + sorted(os.path.join(base, d) for d in gfile.listdir(base)
                         if gfile.isdir(os.path.join(base, d)))
  candidates += [os.path.join(d, value) for d in dirs]
  for candidate in list(candidates):
    if gfile.exists(candidate) and not gfile.isdir(candidate):
      return candidate
  if not os.path.splitext(value)[1]:   # Kaggle lists stems: 10_left
    for candidate in candidates:
      for ext in IMAGE_EXTENSIONS:
        if gfile.exists(candidate + ext):
          return candidate + ext
  return None


def list_inputs(input_path: str) -> Tuple[List[Item], List[Failure]]:
  """The files ``--input`` names, with their ids (file stems; in a folder,
  the path below it without extension).

  A folder is searched recursively for images and DICOMs; a .csv lists files
  in a column named one of PATH_COLUMNS (else its first column), relative to
  the CSV's folder or one folder below it, with or without extension; a glob
  pattern is expanded.
  """
  gfile = _gfile()
  items, failures = [], []
  if any(c in input_path for c in "*?["):
    paths = sorted(p for p in gfile.glob(input_path) if not gfile.isdir(p))
    return [Item(_stem(p), p) for p in paths], failures
  if gfile.isdir(input_path):
    for root, _, files in sorted(gfile.walk(input_path)):
      for name in sorted(files):
        path = os.path.join(root, name)
        if _is_image_path(path):
          items.append(Item(_relative_id(path, input_path), path))
    if not items:
      raise ValueError("No images (%s) or DICOM files under %s"
                       % (" ".join(IMAGE_EXTENSIONS), input_path))
    return items, failures
  if not gfile.exists(input_path):
    raise FileNotFoundError("--input %s does not exist; pass an image, a "
                            "folder, a CSV list or a glob pattern" % input_path)
  if input_path.lower().endswith(".csv"):
    with gfile.GFile(input_path, "r") as f:
      reader = csv.reader(f)
      header = next(reader, None)
      if header is None:
        raise ValueError("%s is empty; it should list image files" % input_path)
      column = next((header.index(c) for c in PATH_COLUMNS if c in header), 0)
      base = os.path.dirname(input_path) or "."
      for row in reader:
        if not row or column >= len(row) or not row[column].strip():
          continue
        value = row[column].strip()
        path = _resolve_csv_entry(value, base)
        if path is None:
          failures.append(Failure(value, "listed in %s but not found" % input_path))
        else:
          items.append(Item(_stem(path), path))
    return items, failures
  return [Item(_stem(input_path), input_path)], failures


def prepare(path: str, preprocessing: dict) -> bytes:
  """The file's converted pixels, losslessly encoded for the inference graph."""
  return imaging.encode(imaging.read_and_prepare(path, preprocessing), "png")


def load_info(dataset_dir: Optional[str]) -> Optional[info_lib.DatasetInfo]:
  """dataset_info.json of --dataset_dir, when given (checked against the
  model spec; the spec alone says how to prepare raw files)."""
  if not dataset_dir:
    return None
  return info_lib.read(dataset_factory.find_dataset_dir(dataset_dir))


def load_spec(checkpoint_path: str, overrides: dict,
              dataset_dir: Optional[str] = None, flag_names=None):
  """The model spec of a checkpoint (resolved), for predict/export/visualize."""
  return model_spec.for_inference(checkpoint_path, overrides,
                                  info=load_info(dataset_dir),
                                  flag_names=flag_names)


def spec_from_flags(overrides: dict, dataset_dir: str):
  """A spec without a checkpoint (TF-Slim's GraphDef-only export): the model
  flags given (``overrides``) and the classes of ``dataset_dir``."""
  overrides = dict(overrides)
  model_name = overrides.pop("model_name", model_spec.DEFAULT_MODEL_NAME)
  return model_spec.build(model_name, load_info(dataset_dir), **overrides)


def predict_items(graph: model_lib.InferenceGraph, items: List[Item],
                  preprocessing: dict, batch_size: int = 32,
                  progress: bool = True):
  """Returns (ids, probabilities [N, C], failures)."""
  ids, probs, failures = [], [], []
  batch_ids, batch_bytes = [], []

  def flush():
    if batch_bytes:
      probs.append(graph.run(graph.probabilities, batch_bytes))
      ids.extend(batch_ids)
      del batch_ids[:], batch_bytes[:]

  for item in tqdm(items, unit="img", disable=not progress, desc="predict"):
    try:
      data = prepare(item.path, preprocessing)
    except (imaging.ImageReadError, ValueError, OSError) as err:
      failures.append(Failure(item.path, str(err)))
      logging.warning("Skipping unreadable %s", err)
      continue
    batch_ids.append(item.id)
    batch_bytes.append(data)
    if len(batch_bytes) >= batch_size:
      flush()
  flush()
  num_classes = graph.config.num_outputs
  return ids, (np.concatenate(probs) if probs else np.zeros((0, num_classes))), failures


def format_rows(ids, probabilities, class_names, top_k: int = 5,
                output_format: str = "csv", multilabel: bool = False,
                threshold: float = 0.5, positive_class=None) -> str:
  """CSV text. ``csv``: id, class_1, probability_1, ... class_k, probability_k
  (most probable first). ``kaggle``: ``image,level`` with the predicted class
  name (the Kaggle DR submission format, e.g. ``44342_left,0``); for a binary
  task the positive class (``metrics.positive_class_index``) when
  P(positive) >= threshold."""
  if output_format not in OUTPUT_FORMATS:
    raise ValueError("--output_format must be one of %s" % "|".join(OUTPUT_FORMATS))
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  probabilities = np.asarray(probabilities)
  if output_format == "kaggle":
    if multilabel:
      raise ValueError("--output_format=kaggle needs single-label classes")
    positive = metrics_lib.positive_class_index(class_names, positive_class)
    preds = metrics_lib.predictions_from(probabilities, False, threshold,
                                         1 if positive is None else positive)
    writer.writerow(["image", "level"])
    for i, pred in zip(ids, preds):
      writer.writerow([i, class_names[int(pred)]])
    return out.getvalue()
  k = max(1, min(int(top_k), len(class_names)))
  header = ["id"]
  for r in range(1, k + 1):
    header += ["class_%d" % r, "probability_%d" % r]
  writer.writerow(header)
  for i, p in zip(ids, probabilities):
    order = np.argsort(-p, kind="stable")[:k]
    row = [i]
    for c in order:
      row += [class_names[int(c)], "%.6f" % p[c]]
    writer.writerow(row)
  return out.getvalue()


@dataclasses.dataclass
class PredictOptions:
  """A prediction run. Each ``option(...)`` field IS its
  predict_image_classifier.py flag (same name, default and help; flagdefs.py
  defines the flags and builds this from them). checkpoint_path, master and
  model_overrides are the flags every inference script shares
  (inference_flags.py); progress is not a flag."""
  checkpoint_path: str
  input: str = option("An image, a folder, a CSV list, DICOMs or a glob.",
                      flag_default=None)
  output: str = option("CSV to write.", default="predictions.csv")
  model_overrides: dict = dataclasses.field(default_factory=dict)
  dataset_dir: Optional[str] = option(
      "Optional: a converted dataset to check against the model (same "
      "classes and conversion settings).", default=None)
  output_format: str = option(
      "csv: id + top-k classes and probabilities; kaggle: image,level.",
      default="csv", enum=OUTPUT_FORMATS)
  top_k: int = option("Classes per row in the csv format.", default=5)
  batch_size: int = option("Images per batch.", default=32)
  threshold: float = option(
      "Binary tasks: the kaggle format's level is the positive class when "
      "P(positive class) >= threshold.", default=0.5)
  positive_class: Optional[str] = option(   # binary: a class name or index
      "slim-med: binary tasks: the positive class (name or index) --threshold "
      "applies to. Default: the class not named like a negative finding "
      "(normal, negative, 0, ...), else index 1.", default=None)
  master: str = ""
  progress: bool = True


def failures_path(output: str) -> str:
  stem, _ = os.path.splitext(output)
  return stem + "_unreadable.csv"


def run(options: PredictOptions):
  """Writes --output (and <output>_unreadable.csv when some files failed).

  Returns (ids, probabilities, failures).
  """
  if options.output_format not in OUTPUT_FORMATS:
    raise ValueError("--output_format must be one of %s" % "|".join(OUTPUT_FORMATS))
  checkpoint = ckpt_lib.resolve(options.checkpoint_path)
  config = load_spec(checkpoint, options.model_overrides, options.dataset_dir)
  positive = metrics_lib.positive_class_index(
      config.output_class_names, options.positive_class, config.multilabel)
  if positive is not None and options.output_format == "kaggle":
    print("positive class: %s (level when P(%s) >= %g)" % (
        config.output_class_names[positive], config.output_class_names[positive],
        options.threshold), flush=True)
  items, failures = list_inputs(options.input)
  graph = model_lib.InferenceGraph(config, checkpoint, options.master)
  try:
    ids, probs, more = predict_items(graph, items, config.imaging,
                                     options.batch_size, options.progress)
  finally:
    graph.close()
  failures += more
  gfile = _gfile()
  directory = os.path.dirname(options.output)
  if directory:
    gfile.makedirs(directory)
  with gfile.GFile(options.output, "w") as f:
    f.write(format_rows(ids, probs, config.output_class_names, options.top_k,
                        options.output_format, config.multilabel, options.threshold,
                        options.positive_class))
  logging.info("Wrote %d predictions to %s", len(ids), options.output)
  if failures:
    with gfile.GFile(failures_path(options.output), "w") as f:
      writer = csv.writer(f, lineterminator="\n")
      writer.writerow(["path", "reason"])
      for failure in failures:
        writer.writerow([failure.path, failure.reason])
    logging.warning("%d input(s) could not be read; listed in %s",
                    len(failures), failures_path(options.output))
  print("%d predicted, %d unreadable -> %s" % (len(ids), len(failures),
                                               options.output), flush=True)
  return ids, probs, failures
