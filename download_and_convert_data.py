r"""Converts a raw medical image dataset to sharded TFRecords.

Layouts (--dataset_name, or --layout for a dataset of your own name):
  diabetic      Kaggle DR: train/*.jpeg + trainLabels.csv (image,level)
  oct           Kermany OCT: {train,val,test}/{CNV,DME,DRUSEN,NORMAL}/*.jpeg
  image_folder  <dataset_dir>/<class>/<images> (JPEG/PNG/BMP/TIFF, 8/16-bit)
  chestxray14   NIH: images/*.png + Data_Entry_2017.csv (multi-label)
  dicom         a DICOM tree + --labels_file=<csv file,label> or --label_tag=<keyword>
  flowers       TF-Slim flowers: flower_photos/<class>/*.jpg

Usage:
  python download_and_convert_data.py --dataset_name=diabetic \
      --dataset_dir=/data/kaggle_dr --validation_size=0.2 --num_shards=4

Writes <output_dir>/<dataset_name>_<split>_NNNNN-of-MMMMM.tfrecord, labels.txt,
dataset_info.json, split_manifest.csv and conversion_report.json. Nothing is
downloaded: put the raw data in --dataset_dir first.
"""
import logging
import sys

from absl import app, flags

from datasets import convert

FLAGS = flags.FLAGS

flags.DEFINE_string("dataset_name", None, "Name of the dataset to convert; also "
                    "the raw layout unless --layout is given: diabetic, oct, "
                    "image_folder, chestxray14, dicom, flowers.")
flags.DEFINE_string("dataset_dir", None, "Folder holding the raw data.")
flags.DEFINE_string("output_dir", None, "Where to write; default "
                    "<dataset_dir>/tfrecords.")
flags.DEFINE_string("layout", None, "Raw layout when --dataset_name is your own "
                    "name (e.g. --dataset_name=pneumoconiosis --layout=image_folder).")
flags.DEFINE_integer("num_shards", 24, "TFRecord shards per split (at most one "
                     "per image). A cluster's training workers each read their "
                     "own shards: 24 splits evenly over 1, 2, 3, 4, 6, 8, 12 or "
                     "24 workers.")
flags.DEFINE_float("validation_size", 0.2, "Fraction of patients' images for "
                   "validation.")
flags.DEFINE_float("test_size", 0.0, "Fraction of patients' images for test.")
flags.DEFINE_integer("random_seed", 0, "Seed of the patient-grouped split.")
flags.DEFINE_integer("num_workers", None, "Worker processes; default all cores.")
flags.DEFINE_integer("image_size", 299, "Output side in pixels; 0 keeps originals.")
flags.DEFINE_enum("resize_mode", "pad", ["pad", "stretch", "keep"],
                  "pad: keep aspect and pad to a square; stretch: distort to a "
                  "square (older tutorials); keep: originals.")
flags.DEFINE_integer("crop_black_borders", None, "Crop rows/columns darker than "
                     "this threshold (0-255); default 10 for fundus (diabetic), "
                     "off otherwise; 0 turns it off.")
flags.DEFINE_boolean("grayscale", False, "Store one grayscale channel.")
flags.DEFINE_boolean("ben_graham", False, "Ben Graham's fundus normalisation.")
flags.DEFINE_integer("bit_depth", None, "8 or 16; default 16 for 16-bit sources "
                     "(PNG/TIFF/DICOM > 8 bits), else 8.")
flags.DEFINE_enum("image_format", "png", ["png", "jpeg"], "Encoding in records.")
flags.DEFINE_string("dicom_window", "auto", "auto (VOI LUT or header window, "
                    "else min-max), minmax, or CENTER,WIDTH.")
flags.DEFINE_boolean("jpeg_draft", True, "Decode large JPEGs at reduced DCT "
                     "scale when the target is much smaller.")
flags.DEFINE_string("labels_file", None, "CSV of labels (dicom: file,label; "
                    "diabetic/chestxray14: overrides the default CSV).")
flags.DEFINE_string("label_tag", None, "dicom: header keyword holding the label.")
flags.DEFINE_integer("min_class_count", 1, "Drop classes with fewer images.")
flags.DEFINE_list("class_names", None, "The known label set; others are skipped.")
flags.DEFINE_boolean("overwrite", False, "Replace an existing conversion.")
flags.DEFINE_boolean("strict", False, "Fail if any input is skipped.")
flags.DEFINE_boolean("progress", True, "Show a progress bar.")


def _window(text):
  if text in ("auto", "minmax"):
    return text
  try:
    center, width = (float(v) for v in text.split(","))
  except ValueError:
    raise app.UsageError("--dicom_window must be auto, minmax or CENTER,WIDTH; "
                         "got %r" % text)
  return [center, width]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("Unexpected arguments: %s" % " ".join(argv[1:]))
  if not FLAGS.dataset_name or not FLAGS.dataset_dir:
    raise app.UsageError("--dataset_name and --dataset_dir are required.")
  logging.getLogger("datasets").setLevel(logging.INFO)
  config = convert.Config(
      dataset_name=FLAGS.dataset_name, dataset_dir=FLAGS.dataset_dir,
      output_dir=FLAGS.output_dir, layout=FLAGS.layout,
      num_shards=FLAGS.num_shards, validation_size=FLAGS.validation_size,
      test_size=FLAGS.test_size, random_seed=FLAGS.random_seed,
      num_workers=FLAGS.num_workers, image_size=FLAGS.image_size or None,
      resize_mode=FLAGS.resize_mode, crop_black_borders=FLAGS.crop_black_borders,
      grayscale=FLAGS.grayscale, ben_graham=FLAGS.ben_graham,
      bit_depth=FLAGS.bit_depth, image_format=FLAGS.image_format,
      dicom_window=_window(FLAGS.dicom_window), jpeg_draft=FLAGS.jpeg_draft,
      labels_file=FLAGS.labels_file, label_tag=FLAGS.label_tag,
      min_class_count=FLAGS.min_class_count, class_names=FLAGS.class_names,
      overwrite=FLAGS.overwrite, strict=FLAGS.strict, progress=FLAGS.progress)
  try:
    result = convert.run(config)
  except convert.ConversionError as err:
    print("download_and_convert_data: error: %s" % err, file=sys.stderr)
    return 1
  print(result.summary())
  return 0


if __name__ == "__main__":
  app.run(main)
