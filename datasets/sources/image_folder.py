"""One folder per class (any names), JPEG/PNG/BMP/TIFF, 8- or 16-bit.

``<dataset_dir>/<class>/**/<image>``. No patient information: every image is
its own patient group. Numeric class names (pneumoconiosis stages 0 1 2 3) are
ordered numerically and mark the dataset as graded.
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
    files = base.image_files(folder_path, skipped)
    if not files:
      skipped.append(base.Skipped(folder_path, "empty class folder: class %r "
                                  "dropped" % folder))
      continue
    by_class[folder] = files
  class_names = base.numeric_sorted(list(by_class))
  records = []
  for index, name in enumerate(class_names):
    for path in by_class[name]:
      stem = os.path.splitext(os.path.basename(path))[0]
      records.append(base.Record(stem, base.anonymize("image:" + stem), (index,),
                                 path))
  records = base.dedupe(records, skipped)
  return base.Scan(records, class_names, skipped, graded=base.all_numeric(class_names),
                   notes={"patient_grouping": "none: one group per image"})


class ImageFolder(base.Source):
  name = "image_folder"
  layout = "image_folder"
  default_channels = None     # probed from the files (grayscale films -> 1)

  def scan(self, dataset_dir, options):
    return scan_class_folders(dataset_dir, options,
                              "one folder per class: <dataset_dir>/<class>/<images>")
