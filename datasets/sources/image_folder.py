"""One folder per class (any names), JPEG/PNG/BMP/TIFF, 8- or 16-bit.

``<dataset_dir>/<class>/<image>`` or ``<dataset_dir>/<class>/<patient>/**/<image>``.

* Source id: the path relative to the folder holding the class folders, with
  its extension (``0/1.png``), so hospital exports that name files 1..N in
  every class folder lose nothing.
* Patients: the FIRST sub-folder level under a class folder is the patient
  group; its name is replaced by its salted hash in the source id
  (``0/<hash>/1.png``, the hash equals the record's patient_group), so a name
  never reaches records. The same folder name under two classes is one
  patient. Files directly in a class folder are one group each. (The
  converter's ``--patients_file`` overrides both.)

Numeric class names (pneumoconiosis stages 0 1 2 3) are ordered numerically
and mark the dataset as graded.
"""
import os

from datasets.sources import base

# Folders in dataset_dir that are never classes (our own output, notebooks).
NOT_CLASSES = ("tfrecords",)


def scan_class_folders(root, options, what, exclude=NOT_CLASSES):
  base.require_dir(root, what)
  skipped = []
  folders = [d for d in base.listdir(root)
             if not d.startswith(".") and d not in exclude
             and base.isdir(os.path.join(root, d))
             and not base.exists(os.path.join(root, d, "dataset_info.json"))]
  if not folders:
    raise base.SourceError("no class folders in %s: expected %s" % (root, what))
  known = set(options.class_names) if options.class_names else None
  by_class = {}
  for folder in folders:
    folder_path = os.path.join(root, folder)
    if known is not None and folder not in known:
      skipped.append(base.Skipped(folder_path, "class folder %r is not in the "
                                  "known classes (--class_names)" % folder))
      continue
    files = base.image_files(
        folder_path, skipped,
        display=lambda p, c=folder_path: base.class_folder_ids(root, c, p)[0])
    if not files:
      skipped.append(base.Skipped(folder_path, "empty class folder: class %r "
                                  "dropped" % folder))
      continue
    by_class[folder] = files
  class_names = base.numeric_sorted(list(by_class))
  records, patients, loose = [], set(), 0
  for index, name in enumerate(class_names):
    for path in by_class[name]:
      source_id, patient = base.class_folder_ids(root, os.path.join(root, name), path)
      if patient is None:
        loose += 1
        group = base.anonymize("image:" + source_id)
      else:
        patients.add(patient)
        group = patient
      records.append(base.Record(source_id, group, (index,), path))
  records = base.dedupe(records, skipped)   # ids are unique paths: a safety net
  if patients:
    grouping = ("first sub-folder under each class folder is the patient (%d "
                "patient folders, names hashed in source ids); %d file(s) directly "
                "in class folders: one group per image" % (len(patients), loose))
  else:
    grouping = "none: one group per image (no patient sub-folders)"
  return base.Scan(records, class_names, skipped, graded=base.all_numeric(class_names),
                   references="source_id",
                   notes={"patient_grouping": grouping,
                          "source_ids": "path relative to the class folders' parent; "
                                        "patient folder names replaced by their hash"})


class ImageFolder(base.Source):
  name = "image_folder"
  layout = "image_folder"
  default_channels = None     # probed from the files (grayscale films -> 1)

  def scan(self, dataset_dir, options):
    return scan_class_folders(dataset_dir, options,
                              "one folder per class: <dataset_dir>/<class>/<images>")
