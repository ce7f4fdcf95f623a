r"""Converts a raw medical image dataset to sharded TFRecords.

Layouts (--dataset_name, or --layout for a dataset of your own name):
  kaggle_dr     Kaggle DR: train/*.jpeg + trainLabels.csv (image,level)
  kermany_oct   Kermany OCT: {train,val,test}/{CNV,DME,DRUSEN,NORMAL}/*.jpeg
  image_folder  <dataset_dir>/<class>/<images> (JPEG/PNG/BMP/TIFF, 8/16-bit)
  chestxray14   NIH: images/*.png + Data_Entry_2017.csv (multi-label)
  dicom         a DICOM tree + --labels_file=<csv file,label> or --label_tag=<keyword>
  flowers       TF-Slim flowers: flower_photos/<class>/*.jpg

Usage:
  python download_and_convert_data.py --dataset_name=kaggle_dr \
      --dataset_dir=/data/kaggle_dr --validation_size=0.2 --num_shards=4

Writes <output_dir>/<dataset_name>_<split>_NNNNN-of-MMMMM.tfrecord, labels.txt,
dataset_info.json, split_manifest.csv and conversion_report.json. Nothing is
downloaded: put the raw data in --dataset_dir first.

On Apache Beam (pip install -e '.[beam]'): the same conversion, the images
read, prepared and written by Beam workers; Beam's own pipeline options go
after `--`:
  python download_and_convert_data.py --dataset_name=kaggle_dr \
      --dataset_dir=/data/kaggle_dr --runner=DirectRunner --direct_num_workers=2
  python download_and_convert_data.py --dataset_name=kaggle_dr \
      --dataset_dir=gs://bucket/kaggle_dr --output_dir=gs://bucket/dr_records \
      --runner=DataflowRunner -- --project=my-project --region=europe-west4 \
      --temp_location=gs://bucket/tmp --requirements_file=requirements.txt
"""
import logging

from absl import app, flags

import cli
from datasets import convert

FLAGS = flags.FLAGS

flags.DEFINE_string("dataset_name", None, "Name of the dataset to convert; also "
                    "the raw layout unless --layout is given: kaggle_dr, "
                    "kermany_oct, image_folder, chestxray14, dicom, flowers.")
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
flags.DEFINE_integer("record_image_size", 299, "Side in pixels of the images "
                     "stored in the records; 0 keeps originals. (Training "
                     "resizes them to the net's --train_image_size.)")
flags.DEFINE_enum("resize_mode", "pad", ["pad", "stretch", "keep"],
                  "pad: keep aspect and pad to a square; stretch: distort to a "
                  "square (older tutorials); keep: originals.")
flags.DEFINE_integer("crop_black_borders", None, "Crop rows/columns darker than "
                     "this threshold (0-255); default 10 for fundus (kaggle_dr), "
                     "off otherwise; 0 turns it off.")
flags.DEFINE_boolean("grayscale", False, "Store one grayscale channel.")
flags.DEFINE_boolean("ben_graham", False, "Ben Graham's fundus normalisation.")
flags.DEFINE_integer("bit_depth", None, "8 or 16; default 16 for 16-bit sources "
                     "(PNG/TIFF/DICOM > 8 bits), else 8.")
flags.DEFINE_enum("image_format", "png", ["png", "jpeg"], "Encoding in records.")
flags.DEFINE_string("dicom_window", "auto", "auto (VOI LUT or header window, "
                    "else the range BitsStored allows, the same for every file), "
                    "minmax (each image's own min-max), or CENTER,WIDTH.")
flags.DEFINE_boolean("jpeg_draft", True, "Decode large JPEGs at reduced DCT "
                     "scale when the target is much smaller.")
flags.DEFINE_string("labels_file", None, "CSV of labels (dicom: file,label; "
                    "kaggle_dr/chestxray14: overrides the default CSV).")
flags.DEFINE_string("patients_file", None, "slim-med: CSV (file relative to "
                    "--dataset_dir, patient id) setting the patient group of the "
                    "files it lists, any layout; ids are hashed, never stored. "
                    "Unlisted files keep the layout's grouping.")
flags.DEFINE_string("label_tag", None, "dicom: header keyword holding the label.")
flags.DEFINE_integer("min_class_count", 1, "Drop classes with fewer images.")
flags.DEFINE_list("class_names", None, "The known label set; others are skipped.")
flags.DEFINE_enum("modality", None, ["fundus", "oct", "xray", "natural"],
                  "slim-med: recorded in dataset_info.json; training picks its "
                  "default preprocessing preset from it. Default by layout: "
                  "kaggle_dr fundus, kermany_oct oct, chestxray14/dicom xray, "
                  "flowers natural, image_folder xray for grayscale images "
                  "else natural.")
flags.DEFINE_boolean("overwrite", False, "Replace an existing conversion.")
flags.DEFINE_boolean("strict", False, "Fail if any input is skipped; nothing is "
                     "published then (only conversion_report.json is left).")
flags.DEFINE_boolean("progress", True, "Show a progress bar.")
flags.DEFINE_string("runner", None, "slim-med: convert on Apache Beam with this "
                    "runner (DirectRunner, DataflowRunner, FlinkRunner, "
                    "SparkRunner, ...; needs pip install -e '.[beam]'); Beam's "
                    "own pipeline options go after `--`. Unset: local worker "
                    "processes (--num_workers), Beam is not imported.")
flags.DEFINE_integer("direct_num_workers", None, "slim-med: DirectRunner worker "
                     "processes; default --num_workers, else all cores.")


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
  if len(argv) > 1 and not FLAGS.runner:
    raise app.UsageError("Unexpected arguments: %s (Beam pipeline options "
                         "after -- need --runner)" % " ".join(argv[1:]))
  if not FLAGS.dataset_name or not FLAGS.dataset_dir:
    raise app.UsageError("--dataset_name and --dataset_dir are required.")
  logging.getLogger("datasets").setLevel(logging.INFO)
  config = convert.Config(
      dataset_name=FLAGS.dataset_name, dataset_dir=FLAGS.dataset_dir,
      output_dir=FLAGS.output_dir, layout=FLAGS.layout,
      num_shards=FLAGS.num_shards, validation_size=FLAGS.validation_size,
      test_size=FLAGS.test_size, random_seed=FLAGS.random_seed,
      num_workers=FLAGS.num_workers,
      image_size=FLAGS.record_image_size or None,
      resize_mode=FLAGS.resize_mode, crop_black_borders=FLAGS.crop_black_borders,
      grayscale=FLAGS.grayscale, ben_graham=FLAGS.ben_graham,
      bit_depth=FLAGS.bit_depth, image_format=FLAGS.image_format,
      dicom_window=_window(FLAGS.dicom_window), jpeg_draft=FLAGS.jpeg_draft,
      labels_file=FLAGS.labels_file, patients_file=FLAGS.patients_file,
      label_tag=FLAGS.label_tag,
      min_class_count=FLAGS.min_class_count, class_names=FLAGS.class_names,
      modality=FLAGS.modality, overwrite=FLAGS.overwrite, strict=FLAGS.strict,
      progress=FLAGS.progress)
  if FLAGS.runner:
    result = convert.beam_runner(FLAGS.runner).run(
        config, FLAGS.runner, pipeline_args=argv[1:],
        direct_num_workers=FLAGS.direct_num_workers or FLAGS.num_workers)
  else:
    result = convert.run(config)   # ConversionError: one line, by cli.run
  print(result.summary())
  return 0


if __name__ == "__main__":
  # --image_size, the name this flag had, is the net's input elsewhere
  # (export_inference_graph.py).
  cli.run(main, renamed_flags={
      "image_size": ("record_image_size", "the stored image size")})
