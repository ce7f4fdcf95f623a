"""Classifies raw images, folders, CSV lists or DICOMs with a checkpoint.

    python predict_image_classifier.py --checkpoint_path=<train_dir> \
        --input=<kaggle>/test --output=submission.csv --output_format=kaggle

The model (net, input size, preprocessing and its options, classes) is the
one model_spec.json next to the checkpoint describes. Files are prepared
exactly as the converter prepared the training data (the spec's ``imaging``:
border crop, resize/pad, intensity scaling, DICOM windowing), so predictions
equal eval's on the same image. Unreadable files are listed in
<output>_unreadable.csv.
"""
from absl import flags

import cli
import inference_flags
from inference import predict

inference_flags.define_model_flags()
flags.DEFINE_string("dataset_dir", None,
                    "Optional: a converted dataset to check against the model "
                    "(same classes and conversion settings).")
flags.DEFINE_string("input", None, "An image, a folder, a CSV list, DICOMs or a glob.")
flags.DEFINE_string("output", "predictions.csv", "CSV to write.")
flags.DEFINE_enum("output_format", "csv", ["csv", "kaggle"],
                  "csv: id + top-k classes and probabilities; kaggle: image,level.")
flags.DEFINE_integer("top_k", 5, "Classes per row in the csv format.")
flags.DEFINE_integer("batch_size", 32, "Images per batch.")
flags.DEFINE_float("threshold", 0.5, "Binary tasks: the kaggle format's level is "
                   "the positive class when P(positive class) >= threshold.")
flags.DEFINE_string("positive_class", None,
                    "slim-med: binary tasks: the positive class (name or index) "
                    "--threshold applies to. Default: the class not named like a "
                    "negative finding (normal, negative, 0, ...), else index 1.")
flags.mark_flags_as_required(["checkpoint_path", "input"])


FLAGS = flags.FLAGS


def main(_):
  predict.run(predict.PredictOptions(
      checkpoint_path=FLAGS.checkpoint_path,
      model_overrides=inference_flags.model_overrides(FLAGS),
      input=FLAGS.input, output=FLAGS.output, dataset_dir=FLAGS.dataset_dir,
      output_format=FLAGS.output_format, top_k=FLAGS.top_k,
      batch_size=FLAGS.batch_size, threshold=FLAGS.threshold,
      positive_class=FLAGS.positive_class, master=FLAGS.master))


if __name__ == "__main__":
  cli.run(main)
