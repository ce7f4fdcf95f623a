"""Kermany 2018 OCT: ``{train,val,test}/{CNV,DME,DRUSEN,NORMAL}/*.jpeg``.

The given splits are kept (val -> validation). File names are
``<CLASS>-<patient>-<n>.jpeg``; the patient part is the patient group.
A single wrapping folder (``OCT2017/``) is looked through.

Source id: the path relative to that root (``train/CNV/CNV-123-1.jpeg``), so
the same file name in two folders stays two inputs. Exports that put each
patient in a sub-folder of the class folder (``train/CNV/<patient>/*.jpeg``)
group by that folder, hashed in the id as in image_folder; other file names
without the Kermany pattern are one group per image.
"""
import os

from datasets.sources import base

CLASSES = ("CNV", "DME", "DRUSEN", "NORMAL")
SPLITS = {"train": "train", "val": "validation", "test": "test"}


class KermanyOCT(base.Source):
  name = "kermany_oct"
  layout = "kermany_oct"
  default_channels = 1
  default_modality = "oct"
  given_splits = SPLITS

  def scan(self, dataset_dir, options):
    what = "<dataset_dir>/{train,val,test}/{%s}/*.jpeg" % ",".join(CLASSES)
    base.require_dir(dataset_dir, what)
    root = dataset_dir
    if not base.isdir(os.path.join(root, "train")):
      inner = [d for d in base.listdir(root)
               if base.isdir(os.path.join(root, d, "train"))]
      if len(inner) != 1:
        raise base.SourceError("%s has no train/ folder: expected %s"
                               % (dataset_dir, what))
      root = os.path.join(root, inner[0])
    known = list(options.class_names or CLASSES)
    skipped, records, seen_classes = [], [], set()
    patient_splits = {}
    for folder, split in SPLITS.items():
      split_dir = os.path.join(root, folder)
      if not base.isdir(split_dir):
        continue
      for class_folder in base.listdir(split_dir):
        class_dir = os.path.join(split_dir, class_folder)
        if class_folder.startswith(".") or not base.isdir(class_dir):
          continue
        if class_folder not in known:
          skipped.append(base.Skipped(class_dir, "class folder %r outside the "
                                      "known set %s" % (class_folder, ",".join(known))))
          continue
        count = 0
        display = lambda p, c=class_dir: base.class_folder_ids(root, c, p)[0]
        for path in base.image_files(class_dir, skipped, display):
          source_id, group = base.class_folder_ids(root, class_dir, path)
          if group is None:
            stem = os.path.splitext(os.path.basename(path))[0]
            parts = stem.split("-")
            group = base.anonymize(parts[1] if len(parts) >= 3
                                   else "image:" + source_id)
          patient_splits.setdefault(group, set()).add(split)
          records.append(base.Record(source_id, group, (known.index(class_folder),),
                                     path, given_split=split))
          count += 1
        if count == 0:
          skipped.append(base.Skipped(class_dir, "empty class folder"))
        else:
          seen_classes.add(class_folder)
    if not records and not skipped:
      raise base.SourceError("no images under %s: expected %s" % (root, what))
    records = base.dedupe(records, skipped)
    overlap = sum(1 for s in patient_splits.values() if len(s) > 1)
    return base.Scan(records, known, skipped, references="source_id",
                     notes={"patient_grouping": "patient sub-folder of the class folder "
                                                 "if any, else <CLASS>-<patient>-<n> "
                                                 "file names, else one per image",
                            "source_ids": "path relative to the folder holding train/",
                            "given_splits": "train/val/test folders kept",
                            "patients_in_several_given_splits": overlap})
