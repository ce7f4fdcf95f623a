"""Parallel, resumable, streaming TFRecord shard writer.

Worker processes (``num_workers``, spawned, no TensorFlow) read and prepare
one image each (``imaging.read_and_prepare``) and return encoded bytes; the
main process builds the tf.Examples and appends them to the current shard.
Results stream in order through a bounded window, so memory does not grow
with the dataset.

Every shard is written to ``<shard>.partial``; when complete, a small
``.conversion/<shard>.json`` records what went into it and the shard is
renamed to its final name (the commit point). An
interrupted run leaves no partial shard under a final name; re-running with
the same plan (same inputs and settings, checked by a fingerprint) writes only
the missing shards.
"""
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple

from datasets import imaging, storage

STATE_DIR = ".conversion"
PLAN_FILENAME = "plan.json"
PARTIAL_SUFFIX = ".partial"
# Images in flight per worker; bounds memory and keeps the pool busy.
WINDOW_PER_WORKER = 8

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Item:
  source_id: str
  patient_group: str
  label: Tuple[int, ...]
  path: str
  # What reports show for this input (DICOM: a hash, never the path).
  reference: str = ""


@dataclasses.dataclass
class Shard:
  split: str
  filename: str
  items: List[Item]


def shard_filename(dataset_name: str, split: str, index: int, count: int) -> str:
  return "%s_%s_%05d-of-%05d.tfrecord" % (dataset_name, split, index, count)


def plan_shards(dataset_name: str, split_items: Dict[str, List[Item]],
                num_shards: int) -> List[Shard]:
  """Contiguous shards per split; at most one shard per item."""
  shards = []
  for split, items in split_items.items():
    if not items:
      continue
    count = max(1, min(num_shards, len(items)))
    for index in range(count):
      lo = index * len(items) // count
      hi = (index + 1) * len(items) // count
      shards.append(Shard(split, shard_filename(dataset_name, split, index, count),
                          items[lo:hi]))
  return shards


def fingerprint(shards: Sequence[Shard], settings: dict) -> str:
  digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8"))
  for shard in shards:
    digest.update(shard.filename.encode("utf-8"))
    for item in shard.items:
      digest.update(("%s|%s|%s|%s\n" % (item.source_id, item.patient_group,
                                        item.label, item.path)).encode("utf-8"))
  return digest.hexdigest()


def prepare_one(args):
  """Worker: (path, preprocessing, image_format) -> ('ok', encoded, h, w, c)
  or ('error', reason). The only per-image work, for both runners (local
  worker processes and Beam workers)."""
  path, preprocessing, image_format = args
  try:
    array = imaging.read_and_prepare(path, preprocessing)
    encoded = imaging.encode(array, image_format)
  except imaging.ImageReadError as err:
    reason = str(err)
    if reason.startswith(path):
      reason = reason[len(path):].lstrip(": ")
    return ("error", reason)
  except Exception as err:  # a bug or an exotic file: report it, keep going
    return ("error", "%s: %s" % (type(err).__name__, err))
  return ("ok", encoded, int(array.shape[0]), int(array.shape[1]),
          int(array.shape[2]))


def _results(tasks: List[tuple], num_workers: int):
  """Ordered results of prepare_one over tasks, through a bounded window."""
  if num_workers <= 1:
    for task in tasks:
      yield prepare_one(task)
    return
  context = multiprocessing.get_context("spawn")
  window = num_workers * WINDOW_PER_WORKER
  with context.Pool(num_workers) as pool:
    for start in range(0, len(tasks), window * 4):
      chunk = tasks[start:start + window * 4]
      for result in pool.imap(prepare_one, chunk, chunksize=2):
        yield result


@dataclasses.dataclass
class ShardStats:
  filename: str
  split: str
  examples: int
  class_counts: List[int]
  patient_groups: List[str]
  manifest: List[List[str]]        # source_id, patient_group, split, label text
  skipped: List[Dict[str, str]]

  @classmethod
  def load(cls, path, with_manifest=False):
    with storage.open_file(path, "r") as f:
      data = json.load(f)
    if not with_manifest:
      data["manifest"] = []   # kept on disk, read back one shard at a time
    return cls(**data)


def manifest_rows(output_dir: str, shards: Sequence[Shard]):
  """Manifest rows of every written shard, streamed from the shard stats."""
  for shard in shards:
    stats = ShardStats.load(os.path.join(output_dir, STATE_DIR,
                                         shard.filename + ".json"),
                            with_manifest=True)
    yield from stats.manifest


def atomic_json(path: str, data, indent=None) -> None:
  tmp = path + ".tmp"
  with storage.open_file(tmp, "w") as f:
    f.write(json.dumps(data, indent=indent))
  storage.rename(tmp, path)


def completed_shards(output_dir: str, shards: Sequence[Shard]) -> Dict[str, ShardStats]:
  done = {}
  state = os.path.join(output_dir, STATE_DIR)
  for shard in shards:
    stats_path = os.path.join(state, shard.filename + ".json")
    if (storage.exists(stats_path)
        and storage.exists(os.path.join(output_dir, shard.filename))):
      done[shard.filename] = ShardStats.load(stats_path)
  return done


def remove_partials(output_dir: str) -> None:
  """Leftovers of an interrupted run (shards never committed)."""
  for name in storage.listdir(output_dir):
    if name.endswith(PARTIAL_SUFFIX):
      storage.remove(os.path.join(output_dir, name))


def write_shard(shard: Shard, results, output_dir: str, preprocessing: dict,
                class_names: Sequence[str], multilabel: bool,
                image_format: str = "png") -> ShardStats:
  """Writes one planned shard: its items in plan order, each with its
  ``prepare_one`` result (``results`` yields them in the same order), to
  ``<shard>.partial``; then ``.conversion/<shard>.json`` (what went in) and
  the rename to the final name, the commit point. Both runners call this: the
  local one with its worker pool's results, Beam's in one worker per shard.
  A failed read becomes a ``skipped`` entry named by the item's reference.
  """
  from datasets import tfexample
  results = iter(results)
  num_classes = len(class_names)
  final = os.path.join(output_dir, shard.filename)
  partial = final + PARTIAL_SUFFIX
  stats = ShardStats(shard.filename, shard.split, 0, [0] * num_classes, [], [], [])
  groups = set()
  with storage.tfrecord_writer(partial) as records:
    for item in shard.items:
      result = next(results)
      if result[0] != "ok":
        reason = result[1]
        if item.reference:   # the path may name a patient: never report it
          reason = reason.replace(item.path, item.reference)
        stats.skipped.append({"input": item.reference or item.path,
                              "reason": reason})
        continue
      _, encoded, height, width, channels = result
      if multilabel:
        label = [1 if i in item.label else 0 for i in range(num_classes)]
      else:
        label = item.label[0]
      example = tfexample.make_example(
          encoded, image_format, height, width, channels,
          int(preprocessing["bit_depth"]), label, item.source_id,
          item.patient_group)
      records.write(example.SerializeToString(deterministic=True))
      stats.examples += 1
      for i in item.label:
        stats.class_counts[i] += 1
      groups.add(item.patient_group)
      stats.manifest.append([item.source_id, item.patient_group, shard.split,
                             "|".join(class_names[i] for i in item.label)])
  stats.patient_groups = sorted(groups)
  # Stats first, then the rename: a shard under its final name is complete.
  atomic_json(os.path.join(output_dir, STATE_DIR, shard.filename + ".json"),
              dataclasses.asdict(stats))
  storage.rename(partial, final)
  stats.manifest = []
  return stats


def write_shards(shards: Sequence[Shard], output_dir: str, preprocessing: dict,
                 class_names: Sequence[str], multilabel: bool, num_workers: int,
                 image_format: str = "png", progress: bool = True,
                 ) -> Tuple[List[ShardStats], float, int]:
  """Writes every shard not already complete (local runner: a pool of
  ``num_workers`` processes).

  Returns (stats of all shards, seconds, inputs processed in this run).

  The caller has written ``.conversion/plan.json`` (see convert.py).
  """
  from tqdm import tqdm

  storage.makedirs(os.path.join(output_dir, STATE_DIR))
  remove_partials(output_dir)
  done = completed_shards(output_dir, shards)
  todo = [s for s in shards if s.filename not in done]
  total = sum(len(s.items) for s in shards)
  initial = total - sum(len(s.items) for s in todo)
  if done:
    log.info("resuming: %d of %d shards already complete", len(done), len(shards))
  tasks = [(item.path, preprocessing, image_format)
           for shard in todo for item in shard.items]
  results = _results(tasks, num_workers)
  bar = tqdm(total=total, initial=initial, unit="img", desc="converting",
             disable=not progress, file=sys.stderr, dynamic_ncols=True,
             smoothing=0.1)

  def counted():
    for result in results:
      bar.update(1)
      yield result

  started = time.time()
  mine = counted()
  try:
    for shard in todo:
      done[shard.filename] = write_shard(shard, mine, output_dir, preprocessing,
                                         class_names, multilabel, image_format)
  finally:
    bar.close()
    results.close()
  elapsed = time.time() - started
  return [done[s.filename] for s in shards], elapsed, len(tasks)
