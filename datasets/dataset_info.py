"""dataset_info.json: what a converted dataset is, written once by the converter
and read by training, evaluation, prediction and benchmarks.

No split size, class list or image property is hard-coded anywhere else.

Example::

  {
    "format_version": 1,
    "name": "kaggle_dr",
    "source_layout": "kaggle_dr",
    "task": "multiclass",              # or "multilabel"
    "modality": "fundus",              # fundus | oct | xray | natural: training's
                                       # default preprocessing preset (null in
                                       # files written before the field existed)
    "graded": true,                    # ordinal labels: kappa is meaningful
    "class_names": ["0", "1", "2", "3", "4"],
    "channels": 3,
    "bit_depth": 8,
    "image_format": "png",
    "image_size": 299,                 # null when originals were kept
    "preprocessing": {"crop_black_borders": 10, "resize": "pad", ...},
    "file_pattern": "kaggle_dr_%s_*.tfrecord",
    "splits": {
      "train": {"num_examples": 800, "num_shards": 4,
                "class_counts": [400, 100, 150, 100, 50],
                "num_patients": 400},
      "validation": {...}
    }
  }

For multi-label data ``class_counts`` counts positives per finding.

Datasets converted before a layout's name changed (``diabetic``, ``oct``) are
read under the current name (``RENAMED_DATASETS``); their shards keep their
names, through the stored ``file_pattern``.
"""
import dataclasses
import json
import os
from typing import Dict, List, Optional

INFO_FILENAME = "dataset_info.json"
LABELS_FILENAME = "labels.txt"
REPORT_FILENAME = "conversion_report.json"
MANIFEST_FILENAME = "split_manifest.csv"
FORMAT_VERSION = 1
MODALITIES = ("fundus", "oct", "xray", "natural")
# Old --dataset_name of a built-in layout -> its current name (= its layout).
RENAMED_DATASETS = {"diabetic": "kaggle_dr", "oct": "kermany_oct"}


def renamed_message(name: str, flag: str = "dataset_name") -> str:
  """The one line telling a user who gave an old dataset name the new one."""
  new = RENAMED_DATASETS[name]
  return "--%s=%s is now called %s: pass --%s=%s" % (flag, name, new, flag, new)


def current_name(name: str, source_layout: str) -> str:
  """The name a dataset converted as ``name`` from ``source_layout`` has now:
  only a built-in layout's old name is mapped, not your own names."""
  new = RENAMED_DATASETS.get(name)
  return new if new == source_layout else name


@dataclasses.dataclass
class SplitInfo:
  num_examples: int
  num_shards: int
  class_counts: List[int]
  num_patients: Optional[int] = None


@dataclasses.dataclass
class DatasetInfo:
  name: str
  class_names: List[str]
  splits: Dict[str, SplitInfo]
  source_layout: str = "image_folder"
  task: str = "multiclass"
  modality: Optional[str] = None       # one of MODALITIES; None in old files
  graded: bool = False
  channels: int = 3
  bit_depth: int = 8
  image_format: str = "png"
  image_size: Optional[int] = None
  preprocessing: Dict = dataclasses.field(default_factory=dict)
  file_pattern: str = ""
  format_version: int = FORMAT_VERSION

  def __post_init__(self):
    if not self.file_pattern:
      self.file_pattern = self.name + "_%s_*.tfrecord"
    self.splits = {k: v if isinstance(v, SplitInfo) else SplitInfo(**v)
                   for k, v in self.splits.items()}

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def multilabel(self) -> bool:
    return self.task == "multilabel"

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False)

  @classmethod
  def from_dict(cls, data: dict) -> "DatasetInfo":
    known = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k in known}
    name = values.get("name")
    layout = values.get("source_layout", "image_folder")
    if name and current_name(name, layout) != name:
      values["file_pattern"] = (values.get("file_pattern")
                                or name + "_%s_*.tfrecord")
      values["name"] = current_name(name, layout)
    return cls(**values)


def write(info: DatasetInfo, output_dir: str) -> None:
  """Writes dataset_info.json and TF-Slim's labels.txt (``0:name`` lines)."""
  from datasets import storage
  storage.makedirs(output_dir)
  _atomic_write(os.path.join(output_dir, INFO_FILENAME), info.to_json() + "\n")
  _atomic_write(os.path.join(output_dir, LABELS_FILENAME),
                "".join("%d:%s\n" % (i, n) for i, n in enumerate(info.class_names)))


def read(dataset_dir: str) -> DatasetInfo:
  import tensorflow as tf
  path = os.path.join(dataset_dir, INFO_FILENAME)
  with tf.io.gfile.GFile(path, "r") as f:
    return DatasetInfo.from_dict(json.load(f))


def read_labels_file(dataset_dir: str) -> Dict[int, str]:
  """Reads TF-Slim's labels.txt into {index: name}."""
  import tensorflow as tf
  path = os.path.join(dataset_dir, LABELS_FILENAME)
  labels = {}
  with tf.io.gfile.GFile(path, "r") as f:
    for line in f:
      line = line.rstrip("\n")
      if line:
        index, name = line.split(":", 1)
        labels[int(index)] = name
  return labels


def _atomic_write(path: str, text: str) -> None:
  from datasets import storage
  tmp = path + ".tmp"
  with storage.open_file(tmp, "w") as f:
    f.write(text)
  storage.rename(tmp, path)
