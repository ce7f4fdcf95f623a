r"""Writes synthetic, medically shaped raw data in a real-world layout.

The output is what a user would download (class folders, Kaggle DR
train/*.jpeg + trainLabels.csv, Kermany OCT, NIH ChestX-ray14, DICOM trees,
TF-Slim flowers), so download_and_convert_data.py runs on it unchanged. The
class of every image is visible in its pixels (lesion count, opacity density,
OCT pathology, finding marks), so a small network learns it.

Usage:

  python make_demo_data.py --layout=kaggle_dr --output_dir=/tmp/demo/kaggle_dr \
      --num_patients=200 --size=128
  python download_and_convert_data.py --dataset_name=kaggle_dr \
      --dataset_dir=/tmp/demo/kaggle_dr

Layouts (the converter's --dataset_name of each): image_folder, kaggle_dr,
kermany_oct, chestxray14, dicom, flowers.
Flags left unset keep the generator's defaults (see demo/synthetic.py).
"""
import json
import os

from absl import app, flags

import cli
from demo import synthetic

FLAGS = flags.FLAGS

flags.DEFINE_enum("layout", None, sorted(synthetic.LAYOUTS),
                  "Raw layout to write.")
flags.DEFINE_string("output_dir", None, "Folder to write into (created).")
flags.DEFINE_integer("size", None, "Image height in pixels.")
flags.DEFINE_integer("seed", 0, "Random seed; same seed, same files.")
flags.DEFINE_integer("per_class", None,
                     "image_folder, flowers: images per class.")
flags.DEFINE_list("oct_per_class", None,
                  "kermany_oct: images per class in train,val,test, e.g. "
                  "40,10,10.")
flags.DEFINE_list("class_names", None,
                  "image_folder, flowers: class folder names (image_folder: "
                  "the signal grows with the position in this list).")
flags.DEFINE_enum("kind", None, ["xray", "fundus"],
                  "image_folder: chest films (stage = opacity density) or "
                  "fundus photos (grade = lesion count).")
flags.DEFINE_enum("bit_depth", None, ["8", "16"],
                  "image_folder xray: 8- or 16-bit grayscale PNG.")
flags.DEFINE_integer("num_patients", None,
                     "kaggle_dr, chestxray14, dicom: number of patients.")
flags.DEFINE_integer("images_per_patient", None,
                     "chestxray14: films per patient.")
flags.DEFINE_integer("per_patient", None, "dicom: files per patient.")
flags.DEFINE_enum("photometric", None, ["MONOCHROME1", "MONOCHROME2"],
                  "dicom: photometric interpretation.")
flags.DEFINE_enum("bits_stored", None, ["12", "16"], "dicom: bits stored.")
flags.DEFINE_enum("transfer_syntax", None, list(synthetic.DICOM_TRANSFER_SYNTAXES),
                  "dicom: pixel data encoding.")
flags.DEFINE_enum("label_source", None, ["csv", "tag"],
                  "dicom: labels.csv or the %s header element."
                  % synthetic.DICOM_LABEL_TAG)


def layout_kwargs(layout, values):
  """Maps flag values (None = unset) onto the generator's keyword arguments."""
  names = {
      "image_folder": ("size", "seed", "per_class", "class_names", "kind",
                       "bit_depth"),
      "kaggle_dr": ("size", "seed", "num_patients"),
      "kermany_oct": ("size", "seed", "oct_per_class"),
      "chestxray14": ("size", "seed", "num_patients", "images_per_patient"),
      "dicom": ("size", "seed", "num_patients", "per_patient", "photometric",
                "bits_stored", "transfer_syntax", "label_source"),
      "flowers": ("size", "seed", "per_class", "class_names"),
  }[layout]
  given = {k: v for k, v in values.items() if v is not None}
  unused = sorted(set(given) - set(names) - {"layout", "output_dir"})
  if unused:
    raise app.UsageError("--%s do(es) not apply to --layout=%s"
                         % (", --".join(unused), layout))
  kwargs = {k: given[k] for k in names if k in given}
  for key in ("bit_depth", "bits_stored"):
    if key in kwargs:
      kwargs[key] = int(kwargs[key])
  if "oct_per_class" in kwargs:
    kwargs["per_class"] = tuple(int(v) for v in kwargs.pop("oct_per_class"))
  if "class_names" in kwargs:
    kwargs["class_names"] = tuple(kwargs["class_names"])
  return kwargs


def main(argv):
  del argv
  if not FLAGS.layout or not FLAGS.output_dir:
    raise app.UsageError("--layout and --output_dir are required")
  values = {name: FLAGS[name].value for name in (
      "size", "per_class", "oct_per_class", "class_names", "kind", "bit_depth",
      "num_patients", "images_per_patient", "per_patient", "photometric",
      "bits_stored", "transfer_syntax", "label_source")}
  values["seed"] = FLAGS.seed if FLAGS["seed"].present else None
  kwargs = layout_kwargs(FLAGS.layout, values)
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  written = synthetic.LAYOUTS[FLAGS.layout](FLAGS.output_dir, **kwargs)
  counts = {}
  for label in written["labels"]:
    for name in (label if isinstance(label, list) else [label]):
      counts[name] = counts.get(name, 0) + 1
  print("Wrote %d %s demo files to %s; per class: %s"
        % (len(written["files"]), FLAGS.layout, FLAGS.output_dir,
           json.dumps(counts, sort_keys=True)))


if __name__ == "__main__":
  cli.run(main)
