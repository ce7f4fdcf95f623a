"""What every raw-layout source yields: records of one shape, nothing decoded.

A source scans ``dataset_dir`` and returns a ``Scan``: the usable ``Record``s
(source id, anonymised patient group, label indices, path, given split), the
class names, and every input it had to skip with the reason. Patient ids are
anonymised here (``tfexample.anonymize``), so raw ids never leave a source.
"""
import csv
import dataclasses
import io
import os
from typing import Dict, List, Optional, Sequence, Tuple

from datasets import tfexample

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif",
                    ".webp")


class SourceError(Exception):
  """The raw layout is not what --dataset_name expects (one-line message)."""


@dataclasses.dataclass(frozen=True)
class Record:
  source_id: str
  patient_group: str          # tfexample.anonymize(patient id), never the id
  label: Tuple[int, ...]      # one class index, or the positive findings
  path: str
  given_split: Optional[str] = None   # layouts that ship their own splits


@dataclasses.dataclass
class Skipped:
  input: str                  # a path or CSV row reference (never a patient id)
  reason: str

  def as_dict(self):
    return {"input": self.input, "reason": self.reason}


@dataclasses.dataclass
class Scan:
  records: List[Record]
  class_names: List[str]
  skipped: List[Skipped]
  task: str = "multiclass"            # or "multilabel"
  graded: bool = False
  notes: Dict = dataclasses.field(default_factory=dict)
  # How reports name a record: "path" (its path), "source_id" (class-folder
  # layouts: the id hides patient folder names) or "dicom" ("dicom:<hash>").
  references: str = "path"


@dataclasses.dataclass
class Options:
  """Source settings from the command line (plain values)."""
  labels_file: Optional[str] = None
  label_tag: Optional[str] = None
  min_class_count: int = 1
  class_names: Optional[Sequence[str]] = None   # the known label set, if given


class Source:
  """A raw layout. Subclasses set the class attributes and implement scan()."""
  name = ""
  layout = ""                  # dataset_info.source_layout
  default_channels = 3
  default_crop_black_borders = None   # threshold, or None
  # dataset_info.modality unless --modality is given: fundus | oct | xray |
  # natural; None = by the stored channels (1: xray, 3: natural).
  default_modality = None
  given_splits = None          # e.g. {"train": "train", "val": "validation"}

  def scan(self, dataset_dir: str, options: Options) -> Scan:
    raise NotImplementedError


# File system access goes through tf.io.gfile (local paths, gs://, ...).
def _gfile():
  from tf_compat import tf
  return tf.io.gfile


def isdir(path: str) -> bool:
  return _gfile().isdir(path)


def exists(path: str) -> bool:
  return _gfile().exists(path)


def isfile(path: str) -> bool:
  return exists(path) and not isdir(path)


def listdir(path: str) -> List[str]:
  return sorted(name.rstrip("/") for name in _gfile().listdir(path))


def read_text(path: str) -> str:
  with _gfile().GFile(path, "rb") as f:
    return f.read().decode("utf-8-sig")


def require_dir(path: str, what: str) -> None:
  if not isdir(path):
    raise SourceError("%s not found: expected %s" % (path, what))


def is_image_name(name: str) -> bool:
  return name.lower().endswith(IMAGE_EXTENSIONS)


def numeric_sorted(names: Sequence[str]) -> List[str]:
  """Numeric names in numeric order ('2' < '10'), otherwise alphabetical."""
  if names and all(_is_int(n) for n in names):
    return sorted(names, key=int)
  return sorted(names)


def all_numeric(names: Sequence[str]) -> bool:
  return bool(names) and all(_is_int(n) for n in names)


def _is_int(text: str) -> bool:
  try:
    int(text)
    return True
  except ValueError:
    return False


def read_csv(path: str, required: Sequence[str], what: str):
  """Header-indexed rows of a CSV. Missing columns -> one-line SourceError.

  Returns (column index dict, iterator of (line number, row list)).
  """
  if not isfile(path):
    raise SourceError("%s not found: expected %s" % (path, what))
  f = io.StringIO(read_text(path), newline="")
  reader = csv.reader(f)
  try:
    header = [h.strip() for h in next(reader)]
  except StopIteration:
    f.close()
    raise SourceError("%s is empty: expected a header with columns %s"
                      % (path, ", ".join(required))) from None
  missing = [c for c in required if c not in header]
  if missing:
    f.close()
    raise SourceError("%s lacks column(s) %s: expected columns %s (found %s)"
                      % (path, ", ".join(missing), ", ".join(required),
                         ", ".join(header) or "none"))
  index = {name: header.index(name) for name in required}

  def rows():
    with f:
      for line_number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
          continue
        yield line_number, row
  return index, rows()


def dedupe(records: List[Record], skipped: List[Skipped]) -> List[Record]:
  """Keeps the first record of every source id; reports the others."""
  seen = set()
  kept = []
  for record in records:
    if record.source_id in seen:
      skipped.append(Skipped(record.path, "duplicate source id %r (first kept)"
                             % record.source_id))
      continue
    seen.add(record.source_id)
    kept.append(record)
  return kept


def anonymize(patient_id: str) -> str:
  return tfexample.anonymize(patient_id)


def walk_files(root: str):
  """Sorted (dirpath, filename) pairs under root, hidden folders skipped."""
  folders = []
  for name in listdir(root):
    path = os.path.join(root, name)
    if isdir(path):
      if not name.startswith("."):
        folders.append(path)
    else:
      yield root, name
  for folder in folders:
    yield from walk_files(folder)


def class_folder_ids(root: str, class_dir: str, path: str):
  """(source id, patient token or None) of an image under a class folder.

  The source id is the file's path relative to ``root`` ('/' separators,
  extension kept), so ``0/1.png`` and ``1/1.png`` are two inputs. When the
  file sits in a sub-folder of the class folder, that FIRST sub-folder level
  is the patient: its raw name never leaves the source, it is replaced in the
  id by ``anonymize(name)``, which is also the record's patient group
  (``0/<token>/1.png``). Deeper folders and the file name are kept. Files
  directly in the class folder have no patient (None).
  """
  prefix = os.path.relpath(class_dir, root).replace(os.sep, "/")
  parts = os.path.relpath(path, class_dir).replace(os.sep, "/").split("/")
  patient = None
  if len(parts) > 1:
    patient = anonymize(parts[0])
    parts[0] = patient
  return "/".join([prefix] + parts if prefix != "." else parts), patient


def image_files(folder: str, skipped: list, display=None):
  """Sorted image paths under ``folder`` (a class folder): hidden files are
  ignored, other non-image files are reported in ``skipped``, named by
  ``display(path)`` when given (to hide patient folder names)."""
  paths = []
  for dirpath, name in walk_files(folder):
    if name.startswith("."):
      continue
    path = os.path.join(dirpath, name)
    if not is_image_name(name):
      skipped.append(Skipped(display(path) if display else path,
                             "not an image file (extension)"))
      continue
    paths.append(path)
  return paths
