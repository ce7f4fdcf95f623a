"""Kaggle diabetic retinopathy: ``train/*.jpeg`` + ``trainLabels.csv``.

``trainLabels.csv`` has columns ``image,level``; ``image`` is
``<patient>_left|right``, ``level`` the grade 0-4. Both eyes of a patient form
one patient group, so they always land in the same split.
"""
import os

from datasets.sources import base

GRADES = ("0", "1", "2", "3", "4")
IMAGE_FOLDERS = ("train", ".")


class KaggleDR(base.Source):
  name = "kaggle_dr"
  layout = "kaggle_dr"
  default_channels = 3
  default_modality = "fundus"
  default_crop_black_borders = 10

  def scan(self, dataset_dir, options):
    base.require_dir(dataset_dir, "a Kaggle DR folder with train/*.jpeg and "
                     "trainLabels.csv")
    csv_path = options.labels_file or os.path.join(dataset_dir, "trainLabels.csv")
    folder = os.path.join(dataset_dir, "train")
    if not base.isdir(folder):
      folder = dataset_dir
    files = {}
    for name in base.listdir(folder):
      if base.is_image_name(name):
        files.setdefault(os.path.splitext(name)[0], os.path.join(folder, name))
    index, rows = base.read_csv(
        csv_path, ("image", "level"),
        "trainLabels.csv with columns image,level in %s" % dataset_dir)
    known = list(options.class_names or GRADES)
    skipped, records, listed = [], [], set()
    for line, row in rows:
      where = "%s:%d" % (os.path.basename(csv_path), line)
      try:
        stem = row[index["image"]].strip()
        level = row[index["level"]].strip()
      except IndexError:
        skipped.append(base.Skipped(where, "row has too few columns"))
        continue
      listed.add(stem)
      if level not in known:
        skipped.append(base.Skipped(where, "label %r outside the known set %s"
                                    % (level, ",".join(known))))
        continue
      path = files.get(stem)
      if path is None:
        skipped.append(base.Skipped(where, "image file %s.* missing in %s"
                                    % (stem, folder)))
        continue
      patient = stem.rsplit("_", 1)[0] if "_" in stem else stem
      records.append(base.Record(stem, base.anonymize(patient),
                                 (known.index(level),), path))
    for stem, path in sorted(files.items()):
      if stem not in listed:
        skipped.append(base.Skipped(path, "not listed in %s"
                                    % os.path.basename(csv_path)))
    records = base.dedupe(records, skipped)
    return base.Scan(records, known, skipped, graded=base.all_numeric(known),
                     notes={"patient_grouping": "<patient>_left/right share a group"})
