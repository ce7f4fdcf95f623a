"""NIH ChestX-ray14: ``images/*.png`` + ``Data_Entry_2017.csv`` (multi-label).

Columns used: ``Image Index``, ``Finding Labels`` (findings joined by ``|``,
or ``No Finding``) and ``Patient ID`` (the patient group). Images are found
anywhere under dataset_dir (NIH ships ``images_001/images/...``).
"""
import os

from datasets.sources import base

FINDINGS = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion",
            "Emphysema", "Fibrosis", "Hernia", "Infiltration", "Mass", "Nodule",
            "Pleural_Thickening", "Pneumonia", "Pneumothorax")
NO_FINDING = "No Finding"
COLUMNS = ("Image Index", "Finding Labels", "Patient ID")


class ChestXray14(base.Source):
  name = "chestxray14"
  layout = "chestxray14"
  default_channels = 1
  default_modality = "xray"

  def scan(self, dataset_dir, options):
    base.require_dir(dataset_dir, "images/*.png and Data_Entry_2017.csv")
    csv_path = options.labels_file or os.path.join(dataset_dir,
                                                   "Data_Entry_2017.csv")
    index, rows = base.read_csv(csv_path, COLUMNS, "Data_Entry_2017.csv with "
                                "columns %s" % ", ".join(COLUMNS))
    files = {}
    for dirpath, name in base.walk_files(dataset_dir):
      if base.is_image_name(name) and "tfrecords" not in dirpath:
        files.setdefault(name, os.path.join(dirpath, name))
    known = list(options.class_names or FINDINGS)
    skipped, rows_ok, present = [], [], set()
    for line, row in rows:
      where = "%s:%d" % (os.path.basename(csv_path), line)
      try:
        image = row[index["Image Index"]].strip()
        findings = row[index["Finding Labels"]].strip()
        patient = row[index["Patient ID"]].strip()
      except IndexError:
        skipped.append(base.Skipped(where, "row has too few columns"))
        continue
      labels = [] if findings in (NO_FINDING, "") else findings.split("|")
      unknown = [f for f in labels if f not in known]
      if unknown:
        skipped.append(base.Skipped(where, "finding(s) %s outside the known set"
                                    % ",".join(unknown)))
        continue
      path = files.get(image)
      if path is None:
        skipped.append(base.Skipped(where, "image file %s missing" % image))
        continue
      present.update(labels)
      rows_ok.append((image, labels, patient, path))
    class_names = ([f for f in known if f in present] if not options.class_names
                   else known)
    records = [base.Record(os.path.splitext(image)[0], base.anonymize(patient),
                           tuple(class_names.index(f) for f in labels), path)
               for image, labels, patient, path in rows_ok]
    records = base.dedupe(records, skipped)
    return base.Scan(records, class_names, skipped, task="multilabel",
                     notes={"patient_grouping": "Patient ID column"})
