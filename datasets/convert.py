"""Raw layout -> sharded TFRecords + labels.txt + dataset_info.json +
split_manifest.csv + conversion_report.json. Called by
download_and_convert_data.py with plain values (``Config``).

    scan (datasets/sources) -> split (datasets/split.py)
      -> read/prepare/encode (datasets/imaging.py, worker processes)
      -> shards (datasets/writer.py) -> metadata (datasets/dataset_info.py)
"""
import collections
import dataclasses
import json
import logging
import os
from typing import List, Optional, Sequence

from datasets import dataset_info as info_lib
from datasets import imaging, split as split_lib, writer
from datasets import sources as sources_lib

log = logging.getLogger(__name__)


class ConversionError(Exception):
  """Conversion cannot go on; the message is one line naming the fix."""


@dataclasses.dataclass
class Config:
  dataset_name: str
  dataset_dir: str
  output_dir: Optional[str] = None       # default <dataset_dir>/tfrecords
  layout: Optional[str] = None           # default: dataset_name
  num_shards: int = 24                   # divides 1-4, 6, 8, 12, 24 workers
  validation_size: float = 0.2
  test_size: float = 0.0
  random_seed: int = 0
  num_workers: Optional[int] = None      # default: all cores
  image_size: Optional[int] = 299        # None/0 keeps originals
  resize_mode: str = "pad"               # pad | stretch | keep
  crop_black_borders: Optional[int] = None   # None: layout default; 0: off
  grayscale: bool = False
  ben_graham: bool = False
  bit_depth: Optional[int] = None        # None: 16 for 16-bit sources, else 8
  image_format: str = "png"
  dicom_window: object = "auto"          # auto | minmax | (center, width)
  jpeg_draft: bool = True
  labels_file: Optional[str] = None
  label_tag: Optional[str] = None
  min_class_count: int = 1
  class_names: Optional[Sequence[str]] = None
  overwrite: bool = False
  strict: bool = False
  progress: bool = True


@dataclasses.dataclass
class Result:
  output_dir: str
  info: info_lib.DatasetInfo
  written: int
  skipped: int
  seconds: float
  processed: int                         # inputs read in this run (not resumed)
  report_path: str

  @property
  def ok(self) -> bool:
    return self.written > 0

  def summary(self) -> str:
    parts = ", ".join("%s %d" % (k, v.num_examples) for k, v in self.info.splits.items())
    shards = sum(v.num_shards for v in self.info.splits.values())
    rate = self.processed / self.seconds if self.seconds > 0 else 0.0
    return ("%s: wrote %d images (%s) in %d shards to %s; skipped %d (see %s); "
            "%.1f images/s" % (self.info.name, self.written, parts, shards,
                               self.output_dir, self.skipped,
                               info_lib.REPORT_FILENAME, rate))


def _our_files(output_dir: str, dataset_name: str) -> List[str]:
  from tf_compat import tf
  if not tf.io.gfile.isdir(output_dir):
    return []
  names = []
  for name in tf.io.gfile.listdir(output_dir):
    name = name.rstrip("/")
    if (name.startswith(dataset_name + "_") and
        (name.endswith(".tfrecord") or name.endswith(writer.PARTIAL_SUFFIX))):
      names.append(name)
    elif name in (info_lib.INFO_FILENAME, info_lib.LABELS_FILENAME,
                  info_lib.REPORT_FILENAME, info_lib.MANIFEST_FILENAME,
                  writer.STATE_DIR):
      names.append(name)
  return sorted(names)


def _remove(output_dir: str, names: Sequence[str]) -> None:
  from tf_compat import tf
  for name in names:
    path = os.path.join(output_dir, name)
    if tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)
    else:
      tf.io.gfile.remove(path)


def _drop_small_classes(scan, min_count: int):
  """Multi-class: drops classes with < min_count records and re-indexes."""
  if min_count <= 1 or scan.task == "multilabel":
    return scan
  counts = collections.Counter(r.label[0] for r in scan.records)
  keep = [i for i in range(len(scan.class_names)) if counts[i] >= min_count]
  dropped = {scan.class_names[i]: counts[i] for i in range(len(scan.class_names))
             if counts[i] < min_count}
  if not dropped:
    return scan
  new_index = {old: new for new, old in enumerate(keep)}
  records = []
  for r in scan.records:
    if r.label[0] in new_index:
      records.append(dataclasses.replace(r, label=(new_index[r.label[0]],)))
    else:
      name = scan.class_names[r.label[0]]
      scan.skipped.append(sources_lib.Skipped(
          _reference(scan, r), "class %r has %d image(s) < --min_class_count=%d"
          % (name, counts[r.label[0]], min_count)))
  scan.notes["dropped_classes"] = dropped
  scan.records = records
  scan.class_names = [scan.class_names[i] for i in keep]
  return scan


def _reference(scan, record) -> str:
  """How reports name an input: the path, or the hashed id for DICOM."""
  if scan.notes.get("hide_paths"):
    return "dicom:" + record.source_id
  return record.path


def _probe(records, limit=16):
  """Channels and bit depth from the headers of a spread-out sample of files."""
  channels, bit_depth = [], []
  for record in records[::max(1, len(records) // limit)][:limit]:
    try:
      found = imaging.probe(record.path)
    except Exception:  # broken files are reported later, at conversion
      continue
    channels.append(found["channels"])
    bit_depth.append(found["bit_depth"])
  return (3 if any(c == 3 for c in channels) or not channels else 1,
          16 if any(b == 16 for b in bit_depth) else 8)


def make_preprocessing(config: Config, source, records) -> dict:
  probed_channels, probed_bits = _probe(records)
  channels = 1 if config.grayscale else (source.default_channels or probed_channels)
  bit_depth = config.bit_depth or probed_bits
  if bit_depth not in (8, 16):
    raise ConversionError("--bit_depth must be 8 or 16, got %r" % bit_depth)
  crop = config.crop_black_borders
  if crop is None:
    crop = source.default_crop_black_borders
  image_size = config.image_size or None
  resize_mode = config.resize_mode if image_size else "keep"
  if resize_mode not in imaging.RESIZE_MODES:
    raise ConversionError("--resize_mode must be one of %s, got %r"
                          % ("|".join(imaging.RESIZE_MODES), resize_mode))
  image_format = config.image_format
  if bit_depth == 16 and image_format != "png":
    raise ConversionError("--bit_depth=16 needs --image_format=png")
  window = config.dicom_window
  return imaging.full_preprocessing({
      "image_size": image_size if resize_mode != "keep" else None,
      "resize": resize_mode,
      "crop_black_borders": int(crop) if crop else None,
      "grayscale": bool(config.grayscale),
      "ben_graham": bool(config.ben_graham),
      "bit_depth": int(bit_depth),
      "channels": int(channels),
      "dicom_window": list(window) if isinstance(window, (list, tuple)) else window,
      "jpeg_draft": bool(config.jpeg_draft),
      "interpolation": "bicubic",
      "image_format": image_format,
  })


def run(config: Config) -> Result:
  """Converts one dataset. Raises ConversionError for unusable input."""
  layout = config.layout or config.dataset_name
  dataset_dir = config.dataset_dir
  if not dataset_dir or not sources_lib.base.isdir(dataset_dir):
    raise ConversionError("--dataset_dir=%s is not a folder: point it at the "
                          "raw %s data" % (dataset_dir, layout))
  output_dir = config.output_dir or os.path.join(dataset_dir, "tfrecords")
  try:
    source = sources_lib.get_source(layout)
  except sources_lib.SourceError as err:
    raise ConversionError(str(err) + " (or pass --layout)") from None
  from tf_compat import tf

  existing = _our_files(output_dir, config.dataset_name)
  resumable = (writer.STATE_DIR in existing
               and info_lib.INFO_FILENAME not in existing)
  if existing and config.overwrite:
    _remove(output_dir, existing)
    existing, resumable = [], False
  elif existing and not resumable:
    raise ConversionError(
        "%s already holds a converted dataset (%s); pass --overwrite to replace "
        "it or choose another --output_dir" % (output_dir, ", ".join(existing[:3])
                                              + (" ..." if len(existing) > 3 else "")))

  options = sources_lib.Options(labels_file=config.labels_file,
                                label_tag=config.label_tag,
                                min_class_count=config.min_class_count,
                                class_names=config.class_names)
  try:
    scan = source.scan(dataset_dir, options)
  except sources_lib.SourceError as err:
    raise ConversionError(str(err)) from None
  if source.layout == "dicom":
    scan.notes["hide_paths"] = True
  scan = _drop_small_classes(scan, config.min_class_count)
  multilabel = scan.task == "multilabel"
  log.info("%s: %d usable inputs, %d skipped while scanning",
           config.dataset_name, len(scan.records), len(scan.skipped))

  tf.io.gfile.makedirs(output_dir)
  report = {
      "dataset_name": config.dataset_name,
      "source_layout": source.layout,
      "inputs_usable": len(scan.records),
      "skipped_while_scanning": [s.as_dict() for s in scan.skipped],
      "notes": {k: v for k, v in scan.notes.items() if k != "hide_paths"},
  }
  report_path = os.path.join(output_dir, info_lib.REPORT_FILENAME)
  if not scan.records:
    report["written"] = 0
    writer.atomic_json(report_path, report, indent=2)
    raise ConversionError("no usable images in %s: %d input(s) skipped, see %s"
                          % (dataset_dir, len(scan.skipped), report_path))
  if config.strict and scan.skipped:
    writer.atomic_json(report_path, report, indent=2)
    raise ConversionError("--strict: %d input(s) would be skipped (first: %s: %s); "
                          "see %s" % (len(scan.skipped), scan.skipped[0].input,
                                      scan.skipped[0].reason, report_path))

  try:
    splits = split_lib.assign(scan.records, config.validation_size,
                              config.test_size, config.random_seed, multilabel)
  except ValueError as err:
    raise ConversionError(str(err)) from None
  preprocessing = make_preprocessing(config, source, scan.records)
  split_items = collections.OrderedDict((s, []) for s in split_lib.SPLIT_ORDER)
  for record, split in zip(scan.records, splits):
    split_items[split].append(writer.Item(record.source_id, record.patient_group,
                                          tuple(record.label), record.path,
                                          _reference(scan, record)))
  for split, items in split_items.items():
    order = split_lib.shard_order([i.source_id for i in items], config.random_seed)
    split_items[split] = [items[i] for i in order]
  shards = writer.plan_shards(config.dataset_name, split_items, config.num_shards)
  plan_settings = {"preprocessing": preprocessing, "class_names": scan.class_names,
                   "task": scan.task}
  fingerprint = writer.fingerprint(shards, plan_settings)
  plan_path = os.path.join(output_dir, writer.STATE_DIR, writer.PLAN_FILENAME)
  if resumable:
    previous = None
    if tf.io.gfile.exists(plan_path):
      with tf.io.gfile.GFile(plan_path, "r") as f:
        previous = json.load(f).get("fingerprint")
    if previous != fingerprint:
      raise ConversionError(
          "%s holds an unfinished conversion made from other inputs or settings; "
          "pass --overwrite to start over" % output_dir)
  else:
    tf.io.gfile.makedirs(os.path.join(output_dir, writer.STATE_DIR))
    writer.atomic_json(plan_path, {"fingerprint": fingerprint})

  num_workers = config.num_workers or os.cpu_count() or 1
  stats, seconds, processed = writer.write_shards(
      shards, output_dir, preprocessing, scan.class_names, multilabel,
      num_workers, preprocessing["image_format"], progress=config.progress)

  split_infos = collections.OrderedDict()
  decode_skipped = []
  for split in split_lib.SPLIT_ORDER:
    mine = [s for s in stats if s.split == split]
    if not mine:
      continue
    counts = [sum(s.class_counts[i] for s in mine) for i in range(len(scan.class_names))]
    patients = set()
    for s in mine:
      patients.update(s.patient_groups)
      decode_skipped.extend(s.skipped)
    split_infos[split] = info_lib.SplitInfo(
        num_examples=sum(s.examples for s in mine), num_shards=len(mine),
        class_counts=counts, num_patients=len(patients))
  written = sum(s.num_examples for s in split_infos.values())
  info = info_lib.DatasetInfo(
      name=config.dataset_name, class_names=list(scan.class_names),
      splits=split_infos, source_layout=source.layout, task=scan.task,
      graded=bool(scan.graded), channels=preprocessing["channels"],
      bit_depth=preprocessing["bit_depth"],
      image_format=preprocessing["image_format"],
      image_size=preprocessing["image_size"], preprocessing=preprocessing)

  with tf.io.gfile.GFile(os.path.join(output_dir, info_lib.MANIFEST_FILENAME),
                         "w") as f:
    f.write(split_lib.manifest_csv([]))   # the header
    for row in writer.manifest_rows(output_dir, shards):
      f.write(split_lib.manifest_csv([row], header=False))
  report.update({
      "written": written,
      "skipped": len(scan.skipped) + len(decode_skipped),
      "skipped_while_reading": decode_skipped,
      "splits": {k: v.num_examples for k, v in split_infos.items()},
      "random_seed": config.random_seed,
      "validation_size": config.validation_size,
      "test_size": config.test_size,
      "seconds": round(seconds, 2),
  })
  writer.atomic_json(report_path, report, indent=2)
  info_lib.write(info, output_dir)   # last: its presence marks a finished run
  _remove(output_dir, [writer.STATE_DIR])
  result = Result(output_dir, info, written, report["skipped"], seconds, processed,
                  report_path)
  if written == 0:
    raise ConversionError("no image could be read: %d input(s) skipped, see %s"
                          % (result.skipped, report_path))
  if config.strict and result.skipped:
    raise ConversionError("--strict: %d input(s) could not be read (first: %s: %s); "
                          "see %s" % (len(decode_skipped), decode_skipped[0]["input"],
                                      decode_skipped[0]["reason"], report_path))
  return result
