"""Evaluation of checkpoints on a converted split: one pass, every example once.

``run(options)`` is what eval_image_classifier.py calls. It builds the graph
once (records -> eval preprocessing -> net -> probabilities), then for every
checkpoint to evaluate restores it, streams the split, gathers labels,
probabilities, source ids and patient groups, and hands them to
``evaluation.metrics`` and ``evaluation.reports``.

Where outputs go (``eval_dir``, default ``<checkpoint dir>/eval_<split>``):
  one checkpoint:            eval_dir/{metrics.json, predictions.csv, *.png}
  --all_checkpoints or
  continuous mode:           eval_dir/step_<n>/..., plus eval_dir/checkpoints.json
                             (every evaluated checkpoint's headline metrics and
                             the best by --select_by)
TensorBoard scalars and the confusion-matrix image go to eval_dir, one point per
global step.
"""
import dataclasses
import json
import math
import os
import time
from typing import Dict, List, Optional

import numpy as np
from absl import logging
from tqdm import tqdm

from flagdefs import option
from tf_compat import tf
from datasets import dataset_factory
from datasets import input_pipeline
from evaluation import checkpoints as polling
from nets import checkpoints as ckpt_lib
from evaluation import metrics as metrics_lib
from inference import model as model_lib
from evaluation import reports
from nets import model_spec
from nets.model_spec import ModelSpec

SUMMARY_FILENAME = "checkpoints.json"


@dataclasses.dataclass
class EvalOptions:
  """An evaluation. Each ``option(...)`` field IS its eval_image_classifier.py
  flag (same name, default and help; flagdefs.py defines the flags and builds
  this from them). checkpoint_path, master and model_overrides are the flags
  every inference script shares (inference_flags.py); last_step, seed and
  progress are not flags."""
  checkpoint_path: str
  dataset_dir: str = option("Output folder of download_and_convert_data.py.",
                            flag_default=None)
  # Model flags the user gave (inference_flags.model_overrides); the rest
  # comes from model_spec.json.
  model_overrides: Dict = dataclasses.field(default_factory=dict)
  dataset_name: Optional[str] = option(
      "Checked against dataset_info.json; default: whatever it holds.",
      default=None)
  dataset_split_name: str = option("Split to evaluate.", default="test")
  eval_dir: Optional[str] = option(
      "Where reports and summaries go; default <checkpoint dir>/eval_<split>.",
      default=None)
  batch_size: int = option("Examples per batch.", default=100)
  max_num_batches: Optional[int] = option(
      "Evaluate at most this many batches.", default=None)
  num_preprocessing_threads: int = option("Parallel decode/preprocess calls.",
                                          default=4)
  master: str = ""
  eval_interval_secs: Optional[float] = option(   # set -> continuous mode
      "Continuous mode: poll --checkpoint_path (a train_dir) this often and "
      "evaluate each new checkpoint once.", default=None)
  timeout: Optional[float] = option(
      "Continuous mode: stop after this many seconds without a new checkpoint "
      "(default: wait forever).", default=None)
  # Continuous mode: stop after evaluating a checkpoint of this global step or
  # later (training's --max_number_of_steps; a cluster's evaluator task).
  last_step: Optional[int] = None
  all_checkpoints: bool = option(
      "Evaluate every checkpoint in the train_dir and name the best.",
      default=False)
  select_by: str = option(
      "Metric naming the best checkpoint (kappa needs graded data; falls back "
      "to auc otherwise). Multi-label data is always ranked by mean AUC over "
      "findings.", default="kappa", enum=("kappa", "auc", "accuracy"))
  bootstrap: int = option(
      "Resamples for 95% confidence intervals of accuracy, AUC, kappa.",
      default=0)
  threshold: float = option(
      "Decision threshold on P(positive class) for binary tasks, on "
      "P(finding) for multi-label ones.", default=0.5)
  positive_class: Optional[str] = option(   # binary: a class name or index
      "slim-med: binary tasks: the class (name or index) whose sensitivity, "
      "specificity and P(positive) --threshold are reported. Default: the "
      "class not named like a negative finding (normal, negative, 0, healthy, "
      "benign, ...), else index 1. The report names it.", default=None)
  top_k: int = option("k of the top-k accuracy.", default=5)
  seed: int = 0
  progress: bool = True


@dataclasses.dataclass
class Outputs:
  """What one pass over the split produced (one row per example)."""
  source_ids: List[str]
  patient_groups: List[str]
  labels: np.ndarray
  probabilities: np.ndarray


def default_eval_dir(checkpoint_path: str, split_name: str) -> str:
  return os.path.join(ckpt_lib.checkpoint_dir(checkpoint_path), "eval_" + split_name)


def model_config(options: EvalOptions, split) -> ModelSpec:
  """The model spec of the checkpoint, checked against the evaluated data."""
  return model_spec.for_inference(options.checkpoint_path,
                                  options.model_overrides, info=split.info)


class Evaluator:
  """The eval graph, built once; ``predict(checkpoint)`` runs one pass."""

  def __init__(self, split, config: ModelSpec, batch_size: int,
               max_num_batches: Optional[int] = None,
               num_preprocessing_threads: int = 4, master: str = "",
               progress: bool = True):
    self.split = split
    self.config = config
    self.progress = progress
    self.graph = tf.Graph()
    with self.graph.as_default():
      dataset = input_pipeline.make_dataset(
          split, model_lib.preprocess_fn(config), config.input_size,
          batch_size, is_training=False,
          num_parallel_calls=num_preprocessing_threads,
          labels_offset=config.labels_offset)
      self.expected = split.num_samples
      if max_num_batches:
        dataset = dataset.take(max_num_batches)
        self.expected = min(split.num_samples, max_num_batches * batch_size)
      self.iterator = tf.compat.v1.data.make_initializable_iterator(dataset)
      self.batch = self.iterator.get_next()
      _, self.probabilities, _ = model_lib.logits_and_probabilities(
          self.batch["images"], config)
      self.saver = model_lib.make_saver(config)
    self.session = tf.compat.v1.Session(target=master, graph=self.graph,
                                        config=model_lib.session_config(config))

  def close(self):
    self.session.close()

  def predict(self, checkpoint_path: str) -> Outputs:
    model_lib.restore(self.saver, self.session, checkpoint_path, self.config)
    self.session.run(self.iterator.initializer)
    fetch = {"p": self.probabilities, "labels": self.batch["labels"],
             "ids": self.batch["source_id"], "groups": self.batch["patient_group"]}
    probs, labels, ids, groups = [], [], [], []
    bar = tqdm(total=self.expected, unit="img", disable=not self.progress,
               desc="eval %s" % os.path.basename(checkpoint_path))
    while True:
      try:
        out = self.session.run(fetch)
      except tf.errors.OutOfRangeError:
        break
      probs.append(out["p"])
      labels.append(out["labels"])
      ids.extend(v.decode("utf-8") for v in out["ids"])
      groups.extend(v.decode("utf-8") for v in out["groups"])
      bar.update(len(out["p"]))
    bar.close()
    if not probs:
      raise ValueError("Split %r of %s yielded no examples"
                       % (self.split.split_name, self.split.dataset_dir))
    result = Outputs(ids, groups, np.concatenate(labels), np.concatenate(probs))
    if len(ids) != self.expected:
      logging.warning("Evaluated %d examples but dataset_info.json lists %d for "
                      "split %r", len(ids), self.expected, self.split.split_name)
    return result


def score(outputs: Outputs, config: ModelSpec, graded: bool,
          options: EvalOptions) -> Dict:
  result = metrics_lib.compute_all(
      outputs.labels, outputs.probabilities, config.output_class_names,
      multilabel=config.multilabel, graded=graded, top_k=options.top_k,
      threshold=options.threshold, patient_groups=outputs.patient_groups,
      ids=outputs.source_ids, bootstrap=options.bootstrap, seed=options.seed,
      positive_class=options.positive_class)
  return result


def evaluate_checkpoint(evaluator: Evaluator, checkpoint_path: str, out_dir: str,
                        summary_dir: str, options: EvalOptions) -> Dict:
  config = evaluator.config
  start = time.time()
  outputs = evaluator.predict(checkpoint_path)
  seconds = time.time() - start
  step = model_lib.global_step_of(checkpoint_path)
  result = score(outputs, config, evaluator.split.info.graded, options)
  result["checkpoint"] = checkpoint_path
  result["global_step"] = step
  result["dataset"] = {"name": evaluator.split.dataset_name,
                       "split": evaluator.split.split_name,
                       "num_samples": evaluator.split.num_samples}
  result["images_per_second"] = len(outputs.source_ids) / max(seconds, 1e-9)
  reports.write_all(out_dir, result, outputs.source_ids, outputs.patient_groups,
                    outputs.labels, outputs.probabilities,
                    config.output_class_names, config.multilabel,
                    options.threshold,
                    title="%s step %d" % (evaluator.split.split_name, step),
                    positive_class=options.positive_class,
                    labels_offset=config.labels_offset)
  reports.write_summaries(summary_dir, result, step)
  title = "%s %s, %s step %d (%d examples, %.1f images/s)" % (
      evaluator.split.dataset_name, evaluator.split.split_name,
      os.path.basename(checkpoint_path), step, len(outputs.source_ids),
      result["images_per_second"])
  print(reports.format_table(result, title), flush=True)
  logging.info("Wrote %s", os.path.join(out_dir, reports.METRICS_FILENAME))
  return result


def _headline(result: Dict) -> Dict:
  keep = {k: result.get(k) for k in ("checkpoint", "global_step", "accuracy",
                                      "kappa", "auc", "mean_auc",
                                      "positive_class") if k in result}
  return reports.to_jsonable(keep)


def run(options: EvalOptions) -> Dict:
  """Evaluates what the options name; returns the last (or best) result.

  Returns {"results": [...], "best": {...} or None}.
  """
  split = dataset_factory.get_split(options.dataset_name,
                                    options.dataset_split_name,
                                    options.dataset_dir)
  multi = bool(options.all_checkpoints or options.eval_interval_secs)
  if multi and not tf.io.gfile.isdir(options.checkpoint_path):
    raise ValueError("--all_checkpoints and --eval_interval_secs need "
                     "--checkpoint_path=<train_dir> (a directory), not %s"
                     % options.checkpoint_path)
  if multi and options.select_by == "kappa" and (not split.info.graded
                                                 or split.multilabel):
    logging.info("%s is not graded: ranking checkpoints by auc%s",
                 split.dataset_name,
                 " (mean over findings)" if split.multilabel else "")
    options = dataclasses.replace(options, select_by="auc")
  if multi:
    metrics_lib.check_select_by(options.select_by, split.multilabel,
                                split.info.graded)
  eval_dir = options.eval_dir or default_eval_dir(options.checkpoint_path,
                                                  options.dataset_split_name)
  config = model_config(options, split)
  # Fails now, not after a pass over the split: a --positive_class naming no
  # class (or given for a task that is not binary).
  metrics_lib.positive_class_index(config.output_class_names,
                                   options.positive_class, config.multilabel)
  checkpoint = None if multi else ckpt_lib.resolve(options.checkpoint_path)
  evaluator = Evaluator(split, config, options.batch_size, options.max_num_batches,
                        options.num_preprocessing_threads, options.master,
                        options.progress)
  results = []
  try:
    if not multi:
      results.append(evaluate_checkpoint(evaluator, checkpoint, eval_dir,
                                         eval_dir, options))
      return {"results": results, "best": None}
    if options.all_checkpoints:
      found = ckpt_lib.list_checkpoints(options.checkpoint_path)
      stream = iter(found or [ckpt_lib.resolve(options.checkpoint_path)])
    else:
      stream = polling.new_checkpoints(options.checkpoint_path,
                                        options.eval_interval_secs,
                                        options.timeout)
    best = None
    for checkpoint in stream:
      step = ckpt_lib.step_of(checkpoint)
      out_dir = os.path.join(eval_dir, "step_%d" % max(step, 0))
      result = evaluate_checkpoint(evaluator, checkpoint, out_dir, eval_dir, options)
      results.append(result)
      value = metrics_lib.headline_value(result, options.select_by)
      if not math.isnan(value) and (best is None or value > best[0]):
        best = (value, result)
      _write_summary(eval_dir, results, best, options.select_by)
      if options.last_step is not None and step >= options.last_step:
        logging.info("Evaluated the final checkpoint (step %d); stopping.", step)
        break
    if best is not None:
      name = ("mean AUC over findings" if config.multilabel
              else options.select_by)
      print("Best checkpoint by %s: %s (%s = %.4f)" % (
          name, best[1]["checkpoint"], name, best[0]), flush=True)
    return {"results": results, "best": best[1] if best else None}
  finally:
    evaluator.close()


def _write_summary(eval_dir, results, best, select_by):
  multilabel = bool(results) and results[0].get("task") == "multilabel"
  summary = {
      "select_by": select_by,
      "ranked_by": "mean_auc" if multilabel else select_by,
      "best": _headline(best[1]) if best else None,
      "checkpoints": [_headline(r) for r in results],
  }
  tf.io.gfile.makedirs(eval_dir)
  with tf.io.gfile.GFile(os.path.join(eval_dir, SUMMARY_FILENAME), "w") as f:
    f.write(json.dumps(summary, indent=2) + "\n")
