"""get_split: the description of one converted split, from dataset_info.json.

TF-Slim users call ``dataset_factory.get_split(name, split_name, dataset_dir)``
and so do we; the difference is that nothing is hard-coded per dataset: any
directory written by ``download_and_convert_data.py`` works, and so does its
parent (the converter's default output is ``<dataset_dir>/tfrecords``).
"""
import dataclasses
import os
from typing import Dict, List, Optional

import tensorflow as tf

from datasets import dataset_info as info_lib


@dataclasses.dataclass
class Split:
  """Everything the input pipeline, losses and metrics need about a split."""
  dataset_name: str
  split_name: str
  dataset_dir: str
  files: List[str]
  num_samples: int
  class_names: List[str]
  class_counts: List[int]
  info: info_lib.DatasetInfo

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def labels_to_names(self) -> Dict[int, str]:
    return dict(enumerate(self.class_names))

  @property
  def multilabel(self) -> bool:
    return self.info.multilabel

  @property
  def label_length(self) -> int:
    """Width of image/class/label in the records."""
    return self.num_classes if self.multilabel else 1

  @property
  def channels(self) -> int:
    return self.info.channels

  @property
  def bit_depth(self) -> int:
    return self.info.bit_depth


def find_dataset_dir(dataset_dir: str) -> str:
  """The folder holding dataset_info.json: ``dataset_dir`` or its tfrecords/."""
  for candidate in (dataset_dir, os.path.join(dataset_dir, "tfrecords")):
    if tf.io.gfile.exists(os.path.join(candidate, info_lib.INFO_FILENAME)):
      return candidate
  raise FileNotFoundError(
      "--dataset_dir=%s: no %s there nor in its tfrecords/ folder; point "
      "--dataset_dir at the output of download_and_convert_data.py, e.g. "
      "python download_and_convert_data.py --dataset_name=<name> "
      "--dataset_dir=%s" % (dataset_dir, info_lib.INFO_FILENAME, dataset_dir))


def get_split(dataset_name: Optional[str], split_name: str, dataset_dir: str,
              file_pattern: Optional[str] = None) -> Split:
  """Describes ``split_name`` of the dataset converted into ``dataset_dir``.

  Args:
    dataset_name: the --dataset_name used at conversion; checked against
      dataset_info.json when given (a mismatch is an error, since it usually
      means the wrong folder).
    split_name: e.g. 'train', 'validation', 'test'.
    dataset_dir: the converter's output folder, or the folder above it.
    file_pattern: overrides the shard glob; '%s' is replaced by split_name.
  """
  directory = find_dataset_dir(dataset_dir)
  info = info_lib.read(directory)
  if dataset_name and dataset_name != info.name:
    if info_lib.RENAMED_DATASETS.get(dataset_name) == info.name:
      raise ValueError(info_lib.renamed_message(dataset_name))
    raise ValueError(
        "--dataset_name=%s but %s holds the dataset %r; pass "
        "--dataset_name=%s or the right --dataset_dir"
        % (dataset_name, directory, info.name, info.name))
  if split_name not in info.splits:
    raise ValueError("--dataset_split_name=%s: %s has no %r split; it has: %s"
                     % (split_name, directory, split_name,
                        ", ".join(sorted(info.splits))))
  pattern = file_pattern or info.file_pattern
  if "%s" in pattern:
    pattern = pattern % split_name
  files = sorted(tf.io.gfile.glob(os.path.join(directory, pattern)))
  split = info.splits[split_name]
  if not files:
    raise FileNotFoundError("--dataset_dir=%s: no shards of split %r match %s; "
                            "re-run download_and_convert_data.py"
                            % (dataset_dir, split_name,
                               os.path.join(directory, pattern)))
  if split.num_shards and len(files) != split.num_shards:
    raise ValueError("%s lists %d shards for split %r but %d files match %s: the "
                     "conversion did not finish; re-run download_and_convert_data.py"
                     % (info_lib.INFO_FILENAME, split.num_shards, split_name,
                        len(files), pattern))
  return Split(dataset_name=info.name, split_name=split_name,
               dataset_dir=directory, files=files,
               num_samples=split.num_examples, class_names=list(info.class_names),
               class_counts=list(split.class_counts), info=info)
