"""A folder tree of DICOM files, labelled by a CSV or by a header keyword.

* ``--labels_file``: CSV, first column the file (relative to dataset_dir),
  second the label (a header row is recognised and skipped).
* ``--label_tag``: a DICOM keyword (e.g. SeriesDescription); its values are
  counted and classes with fewer than ``--min_class_count`` files are dropped
  (the long tail is reported).

PatientID is the patient group (hashed); the source id is a salted hash of the
file's relative path, since DICOM file names often carry accession numbers.
Nothing from the header but the label reaches records or reports.
"""
import csv
import io
import os

from datasets import imaging, tfexample
from datasets.sources import base

SOURCE_ID_SALT = "slim-med-dicom-source"
HEADER_WORDS = ("file", "path", "filename", "file_name", "image", "dicom")


def reference(rel):
  """How reports name a DICOM input: its source id, never its path."""
  return "dicom:" + tfexample.anonymize(rel, SOURCE_ID_SALT)


def _looks_dicom(path):
  if path.lower().endswith(imaging.DICOM_EXTENSIONS):
    return True
  try:
    head = imaging.read_head(path, 132)
  except (OSError, IOError):
    return False
  return imaging.is_dicom(path, head)


class Dicom(base.Source):
  name = "dicom"
  layout = "dicom"
  default_channels = 1
  default_modality = "xray"

  def scan(self, dataset_dir, options):
    import pydicom
    base.require_dir(dataset_dir, "a folder tree of DICOM files")
    if not options.labels_file and not options.label_tag:
      raise base.SourceError("dicom needs labels: pass --labels_file=<csv: file,"
                             "label> or --label_tag=<DICOM keyword>")
    skipped = []
    known = list(options.class_names) if options.class_names else None
    labelled = {}   # relative path -> label
    mentioned = set()
    if options.labels_file:
      labels_path = options.labels_file
      if not os.path.isabs(labels_path) and not base.exists(labels_path):
        labels_path = os.path.join(dataset_dir, labels_path)
      if not base.isfile(labels_path):
        raise base.SourceError("%s not found: expected a CSV whose first column "
                               "is the file (relative to %s) and second the label"
                               % (options.labels_file, dataset_dir))
      text = io.StringIO(base.read_text(labels_path), newline="")
      for line, row in enumerate(csv.reader(text), start=1):
        if not row or all(not c.strip() for c in row):
          continue
        where = "%s:%d" % (os.path.basename(labels_path), line)
        if line == 1 and row[0].strip().lower() in HEADER_WORDS:
          continue
        if len(row) < 2:
          if line == 1:
            raise base.SourceError("%s: expected two columns (file, label), "
                                   "found %d" % (labels_path, len(row)))
          skipped.append(base.Skipped(where, "row has fewer than 2 columns"))
          continue
        rel, label = row[0].strip().replace("\\", "/"), row[1].strip()
        mentioned.add(rel)
        if known is not None and label not in known:
          skipped.append(base.Skipped(where, "label %r outside the known set"
                                      % label))
          continue
        if not base.isfile(os.path.join(dataset_dir, rel)):
          skipped.append(base.Skipped(where, "file missing (%s)" % reference(rel)))
          continue
        if rel in labelled:
          skipped.append(base.Skipped(where, "duplicate row (first kept)"))
          continue
        labelled[rel] = label
      listed = mentioned
      for dirpath, name in base.walk_files(dataset_dir):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, dataset_dir).replace(os.sep, "/")
        if rel not in listed and name.lower().endswith(imaging.DICOM_EXTENSIONS):
          skipped.append(base.Skipped(reference(rel), "not listed in the labels file"))
      candidates = sorted(labelled)
    else:
      candidates = []
      for dirpath, name in base.walk_files(dataset_dir):
        path = os.path.join(dirpath, name)
        if "tfrecords" in os.path.relpath(dirpath, dataset_dir).split(os.sep):
          continue
        if _looks_dicom(path):
          candidates.append(os.path.relpath(path, dataset_dir).replace(os.sep, "/"))
    rows, no_patient = [], 0
    for rel in candidates:
      path = os.path.join(dataset_dir, rel)
      try:
        with imaging.open_binary(path) as f:
          ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
        if "SOPClassUID" not in ds and "PatientID" not in ds and "Rows" not in ds:
          raise ValueError("no DICOM header")
      except Exception as err:  # pydicom raises many types for non-DICOM files
        skipped.append(base.Skipped(reference(rel), "not a readable DICOM file (%s)"
                                    % type(err).__name__))
        continue
      if options.label_tag:
        value = ds.get(options.label_tag)
        value = "" if value is None else str(value.value if hasattr(value, "value")
                                             else value).strip()
        if not value:
          skipped.append(base.Skipped(reference(rel), "header keyword %s missing or empty"
                                      % options.label_tag))
          continue
        if known is not None and value not in known:
          skipped.append(base.Skipped(reference(rel), "label %r outside the known set" % value))
          continue
        label = value
      else:
        label = labelled[rel]
      patient = str(ds.get("PatientID", "") or "").strip()
      if not patient:
        no_patient += 1
        patient = "file:" + rel
      rows.append((rel, label, base.anonymize(patient), path))
    class_names = known or base.numeric_sorted(sorted({r[1] for r in rows}))
    records = [base.Record(tfexample.anonymize(rel, SOURCE_ID_SALT), group,
                           (class_names.index(label),), path)
               for rel, label, group, path in rows]
    records = base.dedupe(records, skipped)
    if not candidates and not skipped:
      raise base.SourceError("no DICOM files under %s: expected a folder tree of "
                             "*.dcm files" % dataset_dir)
    return base.Scan(records, class_names, skipped,
                     graded=base.all_numeric(class_names), references="dicom",
                     notes={"patient_grouping": "PatientID (hashed)",
                            "label_source": ("header keyword %s" % options.label_tag
                                             if options.label_tag else "labels file"),
                            "files_without_patient_id": no_patient})
