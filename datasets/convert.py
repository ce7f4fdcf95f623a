"""Raw layout -> sharded TFRecords + labels.txt + dataset_info.json +
split_manifest.csv + conversion_report.json. Called by
download_and_convert_data.py with plain values (``Config``).

    scan (datasets/sources) -> split (datasets/split.py)
      -> read/prepare/encode (datasets/imaging.py, worker processes)
      -> shards (datasets/writer.py) -> metadata (datasets/dataset_info.py)
"""
import collections
import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
from typing import List, Optional, Sequence

from datasets import dataset_info as info_lib
from datasets import imaging, split as split_lib, storage, writer
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
  image_size: Optional[int] = 299        # --record_image_size; None/0: originals
  resize_mode: str = "pad"               # pad | stretch | keep
  crop_black_borders: Optional[int] = None   # None: layout default; 0: off
  grayscale: bool = False
  ben_graham: bool = False
  bit_depth: Optional[int] = None        # None: 16 for 16-bit sources, else 8
  image_format: str = "png"
  dicom_window: object = "auto"          # auto | minmax | (center, width)
  jpeg_draft: bool = True
  labels_file: Optional[str] = None
  patients_file: Optional[str] = None    # CSV: file relative to dataset_dir, patient id
  label_tag: Optional[str] = None
  min_class_count: int = 1
  class_names: Optional[Sequence[str]] = None
  modality: Optional[str] = None         # default: the layout's (see choose_modality)
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
  if not storage.isdir(output_dir):
    return []
  names = []
  for name in storage.listdir(output_dir):
    if (name.startswith(dataset_name + "_") and
        (name.endswith(".tfrecord") or name.endswith(writer.PARTIAL_SUFFIX))):
      names.append(name)
    elif name in (info_lib.INFO_FILENAME, info_lib.LABELS_FILENAME,
                  info_lib.REPORT_FILENAME, info_lib.MANIFEST_FILENAME,
                  writer.STATE_DIR):
      names.append(name)
  return sorted(names)


def _remove(output_dir: str, names: Sequence[str]) -> None:
  for name in names:
    path = os.path.join(output_dir, name)
    if storage.isdir(path):
      storage.rmtree(path)
    else:
      storage.remove(path)


def _unpublish(output_dir: str, dataset_name: str) -> None:
  """Removes everything a conversion writes except conversion_report.json."""
  _remove(output_dir, [n for n in _our_files(output_dir, dataset_name)
                       if n != info_lib.REPORT_FILENAME])


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


# ------------------------------------------------------------- patients file
PATIENTS_HEADER_WORDS = ("file", "path", "filename", "file_name", "image",
                         "relative_path")


def _relative(path: str, dataset_dir: str) -> str:
  rel = os.path.relpath(path, dataset_dir).replace(os.sep, "/")
  return rel[2:] if rel.startswith("./") else rel


def apply_patients_file(scan, patients_file: str, dataset_dir: str):
  """Sets the patient group of the files a CSV lists (file, patient id).

  Works with any layout: the file column is the path relative to dataset_dir;
  the patient id is hashed (never stored). Rows that name no converted input,
  lack a column or repeat a file are reported as skipped rows; files the CSV
  does not list keep the layout's own grouping.
  """
  path = patients_file
  if not os.path.isabs(path) and not sources_lib.base.exists(path):
    path = os.path.join(dataset_dir, path)
  if not sources_lib.base.isfile(path):
    raise ConversionError("--patients_file=%s not found: expected a CSV whose "
                          "first column is the file (relative to %s) and second "
                          "the patient id" % (patients_file, dataset_dir))
  index = {_relative(r.path, dataset_dir): i for i, r in enumerate(scan.records)}
  assigned = {}
  name = os.path.basename(path)
  rows = csv.reader(io.StringIO(sources_lib.base.read_text(path), newline=""))
  for line, row in enumerate(rows, start=1):
    if not row or all(not c.strip() for c in row):
      continue
    where = "%s:%d" % (name, line)
    if line == 1 and row[0].strip().lower() in PATIENTS_HEADER_WORDS:
      continue
    if len(row) < 2 or not row[1].strip():
      if line == 1:
        raise ConversionError("--patients_file=%s: expected two columns (file, "
                              "patient id), found %d on line 1"
                              % (patients_file, len([c for c in row if c.strip()])))
      scan.skipped.append(sources_lib.Skipped(where, "row needs two columns: file, "
                                              "patient id"))
      continue
    # Reports point at the CSV line, never echo its file column: paths may
    # hold patient folder names.
    rel = row[0].strip().replace("\\", "/")
    if os.path.isabs(rel):
      rel = os.path.relpath(rel, dataset_dir)
    rel = os.path.normpath(rel).replace(os.sep, "/")
    if rel not in index:
      if sources_lib.base.isfile(os.path.join(dataset_dir, rel)):
        reason = ("the file it names is not among the converted inputs (skipped "
                  "itself, see its own entry)")
      else:
        reason = "the file it names is missing (relative to --dataset_dir)"
      scan.skipped.append(sources_lib.Skipped(where, reason))
      continue
    if rel in assigned:
      scan.skipped.append(sources_lib.Skipped(where, "file listed again (first row "
                                              "kept)"))
      continue
    assigned[rel] = sources_lib.base.anonymize(row[1].strip())
  for rel, group in assigned.items():
    i = index[rel]
    scan.records[i] = dataclasses.replace(scan.records[i], patient_group=group)
  scan.notes["patients_file"] = {
      "files_assigned": len(assigned),
      "files_not_listed": len(scan.records) - len(assigned),
      "files_not_listed_grouping": "the layout's own: %s"
                                   % scan.notes.get("patient_grouping", "unknown"),
  }
  return scan


# ---------------------------------------------------------- identical files
_HEAD_BYTES = 64 * 1024


def _file_size(path: str) -> Optional[int]:
  try:
    if "://" in path:
      from tf_compat import tf
      return int(tf.io.gfile.stat(path).length)
    return os.path.getsize(path)
  except Exception:  # unreadable: reported when it is read
    return None


def _digest(path: str, limit: Optional[int] = None) -> Optional[str]:
  digest = hashlib.sha256()
  try:
    with imaging.open_binary(path) as f:
      if limit:
        digest.update(f.read(limit))
      else:
        for block in iter(lambda: f.read(1 << 20), b""):
          digest.update(block)
  except (OSError, IOError):
    return None
  return digest.hexdigest()


def _same_bytes_groups(paths: Sequence[str]) -> List[List[int]]:
  """Indices of byte-identical files, groups of >= 2 (size, then the first
  64 KiB, then the whole file: most files are never read here)."""
  def split_by(members, key):
    buckets = collections.OrderedDict()
    for i in members:
      k = key(paths[i])
      if k is not None:
        buckets.setdefault(k, []).append(i)
    return [b for b in buckets.values() if len(b) > 1]
  def size(path):   # empty files are all alike: reported as zero-byte when read
    found = _file_size(path)
    return found if found else None
  groups = []
  for by_size in split_by(range(len(paths)), size):
    for by_head in split_by(by_size, lambda p: _digest(p, _HEAD_BYTES)):
      groups.extend(split_by(by_head, _digest))
  return groups


def drop_identical_files(scan):
  """A true duplicate is the same BYTES, whatever the names. The first copy is
  kept when every copy has the same label; copies with different labels are a
  label conflict: all of them are skipped (no label can be trusted). Every
  dropped copy is reported."""
  drop = {}
  duplicates = conflicts = 0
  for members in _same_bytes_groups([r.path for r in scan.records]):
    records = [scan.records[i] for i in members]
    first = _reference(scan, records[0])
    labels = {r.label for r in records}
    if len(labels) == 1:
      for i in members[1:]:
        drop[i] = "same bytes as %s (duplicate file, first kept)" % first
        duplicates += 1
      continue
    names = lambda label: "|".join(scan.class_names[c] for c in label) or "none"
    for i in members:
      others = ", ".join("%s (%s)" % (_reference(scan, scan.records[j]),
                                      names(scan.records[j].label))
                         for j in members if j != i)
      drop[i] = ("label conflict: same bytes with label %s here and in %s; all "
                 "%d copies skipped" % (names(scan.records[i].label), others,
                                        len(members)))
      conflicts += 1
  if drop:
    for i in sorted(drop):
      scan.skipped.append(sources_lib.Skipped(_reference(scan, scan.records[i]),
                                              drop[i]))
    scan.records = [r for i, r in enumerate(scan.records) if i not in drop]
  scan.notes["identical_files"] = {"duplicates_skipped": duplicates,
                                   "label_conflicts_skipped": conflicts}
  return scan


def _reference(scan, record) -> str:
  """How reports name an input: the path, or the hashed id for DICOM."""
  if scan.references == "dicom":
    return "dicom:" + record.source_id
  if scan.references == "source_id":
    return record.source_id
  return record.path


def _probe(records, limit=16):
  """Channels and bit depth from the headers of a spread-out sample of files,
  and the raw pixel values of the sampled 16-bit (integer) images."""
  channels, bit_depth, pixels = [], [], []
  for record in records[::max(1, len(records) // limit)][:limit]:
    try:
      found = imaging.probe(record.path)
      if found["bit_depth"] == 16:
        sample = imaging.intensity_sample(record.path)
        if sample is not None and sample.size:
          pixels.append(sample)
    except Exception:  # broken files are reported later, at conversion
      continue
    channels.append(found["channels"])
    bit_depth.append(found["bit_depth"])
  return (3 if any(c == 3 for c in channels) or not channels else 1,
          16 if any(b == 16 for b in bit_depth) else 8, pixels)


def _intensity(pixels) -> dict:
  """The dataset's one scaling of 16-bit (integer) images, and how it was found."""
  if not pixels:
    return {"intensity_range": None,
            "intensity_range_source": "no 16-bit PNG/TIFF among the sampled files"}
  span = imaging.intensity_range(pixels)
  return {"intensity_range": span,
          "intensity_range_source": "%gth percentile of the pixels of %d sampled "
                                    "16-bit file(s), raw units"
                                    % (imaging.INTENSITY_PERCENTILE, len(pixels))}


def make_preprocessing(config: Config, source, records) -> dict:
  probed_channels, probed_bits, pixels = _probe(records)
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
  intensity = _intensity(pixels)
  if intensity["intensity_range"]:
    log.info("16-bit images scaled by the dataset's intensity range %s (%s)",
             intensity["intensity_range"], intensity["intensity_range_source"])
  return imaging.full_preprocessing({
      "image_size": image_size if resize_mode != "keep" else None,
      "resize": resize_mode,
      "crop_black_borders": int(crop) if crop else None,
      "grayscale": bool(config.grayscale),
      "ben_graham": bool(config.ben_graham),
      "bit_depth": int(bit_depth),
      "channels": int(channels),
      "dicom_window": list(window) if isinstance(window, (list, tuple)) else window,
      "dicom_fallback": "bits_stored",
      "intensity_range": intensity["intensity_range"],
      "intensity_range_source": intensity["intensity_range_source"],
      "jpeg_draft": bool(config.jpeg_draft),
      "interpolation": "bicubic",
      "image_format": image_format,
  })


def _check_modality(config: Config) -> None:
  if config.modality and config.modality not in info_lib.MODALITIES:
    raise ConversionError("--modality must be one of %s, got %r"
                          % ("|".join(info_lib.MODALITIES), config.modality))


def choose_modality(config: Config, source, channels: int):
  """(modality, why): --modality, else the layout's, else by stored channels."""
  if config.modality:
    _check_modality(config)
    return config.modality, "--modality"
  if source.default_modality:
    return source.default_modality, "default of the %s layout" % source.layout
  if channels == 1:
    return "xray", "grayscale images stored (channels 1)"
  return "natural", "colour images stored (channels 3)"


@dataclasses.dataclass
class Plan:
  """Everything decided before a record is written; both runners (the local
  worker pool, datasets/beam_convert.py) write ``shards`` and then call
  ``finish``."""
  config: Config
  source: object
  scan: object
  output_dir: str
  report: dict
  report_path: str
  preprocessing: dict
  modality: str
  shards: List[writer.Shard]

  @property
  def multilabel(self) -> bool:
    return self.scan.task == "multilabel"

  @property
  def write_args(self) -> dict:
    """What writer.write_shard needs besides the shard and its results."""
    return {"output_dir": self.output_dir, "preprocessing": self.preprocessing,
            "class_names": list(self.scan.class_names),
            "multilabel": self.multilabel,
            "image_format": self.preprocessing["image_format"]}


def run(config: Config) -> Result:
  """Converts one dataset with local worker processes. Raises ConversionError
  for unusable input."""
  output_dir = config.output_dir or os.path.join(config.dataset_dir or "", "tfrecords")
  if storage.via_beam(output_dir):
    raise ConversionError(
        "--output_dir=%s: TensorFlow 2.21 cannot write %s://; convert on Beam "
        "(--runner, pip install -e '.[beam]' 'apache-beam[aws]') or to local "
        "disk / gs:// and copy the files" % (output_dir, storage.scheme(output_dir)))
  planned = plan(config)
  num_workers = config.num_workers or os.cpu_count() or 1
  args = planned.write_args
  stats, seconds, processed = writer.write_shards(
      planned.shards, args["output_dir"], args["preprocessing"],
      args["class_names"], args["multilabel"], num_workers,
      args["image_format"], progress=config.progress)
  return finish(planned, stats, seconds, processed, runner="local")


def plan(config: Config) -> Plan:
  """Checks the output folder (refuse / --overwrite / resume), scans the
  source, applies --patients_file, drops identical files and small classes,
  splits by patient, decides the preprocessing and modality and plans the
  shards (which item goes to which shard, in which order). Writes only
  ``.conversion/plan.json`` (or, when nothing can be published,
  conversion_report.json and raises ConversionError)."""
  layout = config.layout or config.dataset_name
  if layout in info_lib.RENAMED_DATASETS:
    raise ConversionError(info_lib.renamed_message(
        layout, "layout" if config.layout else "dataset_name"))
  if info_lib.current_name(config.dataset_name, layout) != config.dataset_name:
    raise ConversionError(info_lib.renamed_message(config.dataset_name))
  dataset_dir = config.dataset_dir
  if not dataset_dir or not sources_lib.base.isdir(dataset_dir):
    raise ConversionError("--dataset_dir=%s is not a folder: point it at the "
                          "raw %s data" % (dataset_dir, layout))
  output_dir = config.output_dir or os.path.join(dataset_dir, "tfrecords")
  _check_modality(config)
  try:
    source = sources_lib.get_source(layout)
  except sources_lib.SourceError as err:
    raise ConversionError(str(err) + " (or pass --layout)") from None

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
  if config.patients_file:
    scan = apply_patients_file(scan, config.patients_file, dataset_dir)
  scan = drop_identical_files(scan)
  scan = _drop_small_classes(scan, config.min_class_count)
  multilabel = scan.task == "multilabel"
  log.info("%s: %d usable inputs, %d skipped while scanning",
           config.dataset_name, len(scan.records), len(scan.skipped))

  storage.makedirs(output_dir)
  report = {
      "dataset_name": config.dataset_name,
      "source_layout": source.layout,
      "inputs_usable": len(scan.records),
      "skipped_while_scanning": [s.as_dict() for s in scan.skipped],
      "notes": dict(scan.notes),
  }
  report_path = os.path.join(output_dir, info_lib.REPORT_FILENAME)
  if not scan.records:
    report.update(written=0, published=False)
    _unpublish(output_dir, config.dataset_name)
    writer.atomic_json(report_path, report, indent=2)
    raise ConversionError("no usable images in %s: %d input(s) skipped, see %s"
                          % (dataset_dir, len(scan.skipped), report_path))
  if config.strict and scan.skipped:
    report.update(written=0, published=False)
    _unpublish(output_dir, config.dataset_name)
    writer.atomic_json(report_path, report, indent=2)
    raise ConversionError("--strict: %d input(s) would be skipped (first: %s: %s); "
                          "nothing published, see %s" % (len(scan.skipped), scan.skipped[0].input,
                                      scan.skipped[0].reason, report_path))

  try:
    splits = split_lib.assign(scan.records, config.validation_size,
                              config.test_size, config.random_seed, multilabel)
  except ValueError as err:
    raise ConversionError(str(err)) from None
  preprocessing = make_preprocessing(config, source, scan.records)
  modality, why = choose_modality(config, source, preprocessing["channels"])
  log.info("%s: modality %s (%s)", config.dataset_name, modality, why)
  report["modality"] = {"modality": modality, "chosen_by": why}
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
    if storage.exists(plan_path):
      with storage.open_file(plan_path, "r") as f:
        previous = json.load(f).get("fingerprint")
    if previous != fingerprint:
      raise ConversionError(
          "%s holds an unfinished conversion made from other inputs or settings; "
          "pass --overwrite to start over" % output_dir)
  else:
    storage.makedirs(os.path.join(output_dir, writer.STATE_DIR))
    writer.atomic_json(plan_path, {"fingerprint": fingerprint})
  return Plan(config, source, scan, output_dir, report, report_path,
              preprocessing, modality, shards)


def finish(planned: Plan, stats: Sequence[writer.ShardStats], seconds: float,
           processed: int, runner: str = "local") -> Result:
  """After every planned shard is written (``stats`` in plan order, as
  writer.write_shard returned or completed_shards loaded them): dataset_info
  counts, conversion_report.json (decode failures included), and either
  publication (split_manifest.csv, labels.txt, dataset_info.json last) or,
  when nothing was readable or --strict saw a failure, nothing but the
  report (ConversionError)."""
  config, scan, source = planned.config, planned.scan, planned.source
  output_dir, report = planned.output_dir, planned.report
  report_path, preprocessing = planned.report_path, planned.preprocessing
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
      modality=planned.modality, graded=bool(scan.graded),
      channels=preprocessing["channels"], bit_depth=preprocessing["bit_depth"],
      image_format=preprocessing["image_format"],
      image_size=preprocessing["image_size"], preprocessing=preprocessing)
  report.update({
      "written": written,
      "skipped": len(scan.skipped) + len(decode_skipped),
      "skipped_while_reading": decode_skipped,
      "splits": {k: v.num_examples for k, v in split_infos.items()},
      "random_seed": config.random_seed,
      "validation_size": config.validation_size,
      "test_size": config.test_size,
      "runner": runner,
      "seconds": round(seconds, 2),
  })
  result = Result(output_dir, info, written, report["skipped"], seconds, processed,
                  report_path)
  failure = None
  if written == 0:
    failure = ("no image could be read: %d input(s) skipped, see %s"
               % (result.skipped, report_path))
  elif config.strict and decode_skipped:
    failure = ("--strict: %d input(s) could not be read (first: %s: %s); nothing "
               "published, see %s" % (len(decode_skipped), decode_skipped[0]["input"],
                                      decode_skipped[0]["reason"], report_path))
  if failure:
    # Nothing is published: no shard, manifest, labels.txt or dataset_info.json
    # a later training could pick up. The report says what went wrong.
    report["published"] = False
    _unpublish(output_dir, config.dataset_name)
    writer.atomic_json(report_path, report, indent=2)
    raise ConversionError(failure)

  with storage.open_file(os.path.join(output_dir, info_lib.MANIFEST_FILENAME),
                         "w") as f:
    f.write(split_lib.manifest_csv([]))   # the header
    for row in writer.manifest_rows(output_dir, planned.shards):
      f.write(split_lib.manifest_csv([row], header=False))
  report["published"] = True
  writer.atomic_json(report_path, report, indent=2)
  info_lib.write(info, output_dir)   # last: its presence marks a finished run
  _remove(output_dir, [writer.STATE_DIR])
  return result


def beam_runner(runner: str):
  """datasets.beam_convert, imported only when --runner asks for Beam; a
  missing Apache Beam is one line naming the extra."""
  try:
    from datasets import beam_convert
  except ImportError as err:
    if "apache_beam" not in str(err):
      raise
    raise ConversionError(
        "--runner=%s needs Apache Beam, which is not installed: pip install -e "
        "'.[beam]' (or drop --runner to convert with local worker processes)"
        % runner) from None
  return beam_convert
