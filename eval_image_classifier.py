"""Evaluates a trained classifier on a converted split (TF-Slim's flags).

    python eval_image_classifier.py --alsologtostderr \
        --checkpoint_path=<train_dir>/model.ckpt-92462 \
        --dataset_name=kaggle_dr --dataset_split_name=validation \
        --dataset_dir=<tfrecords> --model_name=inception_v3

Prints a table and writes metrics.json, predictions.csv, confusion matrix /
ROC / reliability PNGs and TensorBoard scalars and the confusion matrix image
into --eval_dir. Binary tasks: --positive_class names the class that
sensitivity and --threshold are about (the table prints which one it is).
"""
from absl import flags

import cli
import inference_flags
from evaluation import evaluate

inference_flags.define_model_flags()
flags.DEFINE_string("eval_dir", None,
                    "Where reports and summaries go; default "
                    "<checkpoint dir>/eval_<split>.")
flags.DEFINE_string("dataset_name", None,
                    "Checked against dataset_info.json; default: whatever it holds.")
flags.DEFINE_string("dataset_split_name", "test", "Split to evaluate.")
flags.DEFINE_string("dataset_dir", None, "Output folder of download_and_convert_data.py.")
flags.DEFINE_integer("batch_size", 100, "Examples per batch.")
flags.DEFINE_integer("max_num_batches", None, "Evaluate at most this many batches.")
flags.DEFINE_integer("num_preprocessing_threads", 4, "Parallel decode/preprocess calls.")
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
                  "falls back to auc otherwise). Multi-label data is always "
                  "ranked by mean AUC over findings.")
flags.DEFINE_integer("bootstrap", 0,
                     "Resamples for 95% confidence intervals of accuracy, AUC, kappa.")
flags.DEFINE_float("threshold", 0.5,
                   "Decision threshold on P(positive class) for binary tasks, on "
                   "P(finding) for multi-label ones.")
flags.DEFINE_string("positive_class", None,
                    "slim-med: binary tasks: the class (name or index) whose "
                    "sensitivity, specificity and P(positive) --threshold are "
                    "reported. Default: the class not named like a negative "
                    "finding (normal, negative, 0, healthy, benign, ...), else "
                    "index 1. The report names it.")
flags.DEFINE_integer("top_k", 5, "k of the top-k accuracy.")
flags.mark_flags_as_required(["checkpoint_path", "dataset_dir"])


FLAGS = flags.FLAGS


def main(_):
  evaluate.run(evaluate.EvalOptions(
      checkpoint_path=FLAGS.checkpoint_path, dataset_dir=FLAGS.dataset_dir,
      model_overrides=inference_flags.model_overrides(FLAGS),
      dataset_name=FLAGS.dataset_name,
      dataset_split_name=FLAGS.dataset_split_name, eval_dir=FLAGS.eval_dir,
      batch_size=FLAGS.batch_size, max_num_batches=FLAGS.max_num_batches,
      num_preprocessing_threads=FLAGS.num_preprocessing_threads,
      master=FLAGS.master,
      eval_interval_secs=FLAGS.eval_interval_secs, timeout=FLAGS.timeout,
      all_checkpoints=FLAGS.all_checkpoints, select_by=FLAGS.select_by,
      bootstrap=FLAGS.bootstrap, threshold=FLAGS.threshold,
      positive_class=FLAGS.positive_class, top_k=FLAGS.top_k))


if __name__ == "__main__":
  cli.run(main)
