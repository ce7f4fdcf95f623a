"""Classifies raw images, folders, CSV lists or DICOMs with a checkpoint.

    python predict_image_classifier.py --checkpoint_path=<train_dir> \
        --model_name=inception_v3 --dataset_dir=<tfrecords> \
        --input=<kaggle>/test --output=submission.csv --output_format=kaggle

Files are prepared exactly as the converter prepared the training data
(dataset_info.json's preprocessing: border crop, resize/pad, DICOM windowing),
so predictions equal eval's on the same image. Unreadable files are listed in
<output>_unreadable.csv.
"""
from absl import app, flags

from evaluation import predict

flags.DEFINE_string("checkpoint_path", None, "A checkpoint or a train_dir (latest).")
flags.DEFINE_string("model_name", "inception_v3", "Network architecture.")
flags.DEFINE_string("dataset_dir", None,
                    "Converted dataset (labels + preprocessing from its "
                    "dataset_info.json); default: the train_dir's copy.")
flags.DEFINE_string("input", None, "An image, a folder, a CSV list, DICOMs or a glob.")
flags.DEFINE_string("output", "predictions.csv", "CSV to write.")
flags.DEFINE_enum("output_format", "csv", ["csv", "kaggle"],
                  "csv: id + top-k classes and probabilities; kaggle: image,level.")
flags.DEFINE_integer("top_k", 5, "Classes per row in the csv format.")
flags.DEFINE_integer("batch_size", 32, "Images per batch.")
flags.DEFINE_integer("eval_image_size", None, "Net input size (default: training's).")
flags.DEFINE_string("preprocessing_name", None, "Default: training's, else the model's.")
flags.DEFINE_float("depth_multiplier", None, "Must match training (default: training's).")
flags.DEFINE_float("moving_average_decay", None, "Use the moving-average weights.")
flags.DEFINE_integer("labels_offset", 0, "As in training.")
flags.DEFINE_float("threshold", 0.5, "Decision threshold for binary tasks.")
flags.DEFINE_string("master", "", "TensorFlow session target.")
flags.mark_flags_as_required(["checkpoint_path", "input"])

flags.DEFINE_boolean("mixed_precision", None, "slim-med: 16-bit inference where "
                     "it is faster (bfloat16 on CPUs with BF16 instructions, float16 "
                     "on GPUs; float32 variables). Default: training's (flags.json).")

FLAGS = flags.FLAGS


def main(_):
  predict.run(predict.PredictOptions(
      checkpoint_path=FLAGS.checkpoint_path, model_name=FLAGS.model_name,
      input=FLAGS.input, output=FLAGS.output, dataset_dir=FLAGS.dataset_dir,
      output_format=FLAGS.output_format, top_k=FLAGS.top_k,
      batch_size=FLAGS.batch_size, eval_image_size=FLAGS.eval_image_size,
      preprocessing_name=FLAGS.preprocessing_name,
      depth_multiplier=FLAGS.depth_multiplier,
      moving_average_decay=FLAGS.moving_average_decay,
      mixed_precision=FLAGS.mixed_precision,
      labels_offset=FLAGS.labels_offset, threshold=FLAGS.threshold,
      master=FLAGS.master))


if __name__ == "__main__":
  app.run(main)
