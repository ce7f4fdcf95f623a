"""Evaluates a trained classifier on a converted split (TF-Slim's flags).

    python eval_image_classifier.py --alsologtostderr \
        --checkpoint_path=<train_dir>/model.ckpt-92462 \
        --dataset_name=diabetic --dataset_split_name=validation \
        --dataset_dir=<tfrecords> --model_name=inception_v3

Prints a table and writes metrics.json, predictions.csv, confusion matrix /
ROC / reliability PNGs and TensorBoard scalars into --eval_dir.
"""
from absl import app, flags

from evaluation import evaluate

flags.DEFINE_string("master", "", "TensorFlow session target.")
flags.DEFINE_string("checkpoint_path", None,
                    "A checkpoint (model.ckpt-<step>) or a train_dir (its latest, "
                    "or every checkpoint with --all_checkpoints / "
                    "--eval_interval_secs).")
flags.DEFINE_string("eval_dir", None,
                    "Where reports and summaries go; default "
                    "<checkpoint dir>/eval_<split>.")
flags.DEFINE_string("dataset_name", None,
                    "Checked against dataset_info.json; default: whatever it holds.")
flags.DEFINE_string("dataset_split_name", "test", "Split to evaluate.")
flags.DEFINE_string("dataset_dir", None, "Output folder of download_and_convert_data.py.")
flags.DEFINE_string("model_name", "inception_v3", "Network architecture.")
flags.DEFINE_string("preprocessing_name", None,
                    "Default: training's (flags.json), else the model's.")
flags.DEFINE_integer("batch_size", 100, "Examples per batch.")
flags.DEFINE_integer("max_num_batches", None, "Evaluate at most this many batches.")
flags.DEFINE_integer("eval_image_size", None,
                     "Net input size; default training's, else the net's default.")
flags.DEFINE_float("moving_average_decay", None,
                   "Evaluate the moving-average weights trained with this decay.")
flags.DEFINE_integer("labels_offset", 0,
                     "Subtracted from labels (1 for nets with a background class).")
flags.DEFINE_integer("num_preprocessing_threads", 4, "Parallel decode/preprocess calls.")
flags.DEFINE_float("depth_multiplier", None,
                   "Must match training (default: training's flags.json, else 1.0).")
flags.DEFINE_float("eval_interval_secs", None,
                   "Continuous mode: poll --checkpoint_path (a train_dir) this often "
                   "and evaluate each new checkpoint once.")
flags.DEFINE_float("timeout", None,
                   "Continuous mode: stop after this many seconds without a new "
                   "checkpoint (default: wait forever).")
flags.DEFINE_bool("all_checkpoints", False,
                  "Evaluate every checkpoint in the train_dir and name the best.")
flags.DEFINE_enum("select_by", "kappa", ["kappa", "auc", "accuracy"],
                  "Metric naming the best checkpoint (kappa needs graded data; "
                  "falls back to auc otherwise).")
flags.DEFINE_integer("bootstrap", 0,
                     "Resamples for 95% confidence intervals of accuracy, AUC, kappa.")
flags.DEFINE_float("threshold", 0.5,
                   "Decision threshold on P(positive) for binary and multi-label tasks.")
flags.DEFINE_integer("top_k", 5, "k of the top-k accuracy.")
flags.mark_flags_as_required(["checkpoint_path", "dataset_dir"])

flags.DEFINE_boolean("mixed_precision", None, "slim-med: 16-bit inference where "
                     "it is faster (bfloat16 on CPUs with BF16 instructions, float16 "
                     "on GPUs; float32 variables). Default: training's (flags.json).")

FLAGS = flags.FLAGS


def main(_):
  evaluate.run(evaluate.EvalOptions(
      checkpoint_path=FLAGS.checkpoint_path, dataset_dir=FLAGS.dataset_dir,
      model_name=FLAGS.model_name, dataset_name=FLAGS.dataset_name,
      dataset_split_name=FLAGS.dataset_split_name, eval_dir=FLAGS.eval_dir,
      preprocessing_name=FLAGS.preprocessing_name, batch_size=FLAGS.batch_size,
      max_num_batches=FLAGS.max_num_batches,
      eval_image_size=FLAGS.eval_image_size,
      moving_average_decay=FLAGS.moving_average_decay,
      mixed_precision=FLAGS.mixed_precision,
      labels_offset=FLAGS.labels_offset,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      master=FLAGS.master, depth_multiplier=FLAGS.depth_multiplier,
      eval_interval_secs=FLAGS.eval_interval_secs, timeout=FLAGS.timeout,
      all_checkpoints=FLAGS.all_checkpoints, select_by=FLAGS.select_by,
      bootstrap=FLAGS.bootstrap, threshold=FLAGS.threshold, top_k=FLAGS.top_k))


if __name__ == "__main__":
  app.run(main)
