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
import flagdefs
import inference_flags
from evaluation import evaluate

# --checkpoint_path, --master and the model flags: inference_flags.py; every
# other flag is a field of EvalOptions (flagdefs.py).
inference_flags.define_model_flags()
flagdefs.define(evaluate.EvalOptions)
flags.mark_flags_as_required(["checkpoint_path", "dataset_dir"])


FLAGS = flags.FLAGS


def main(_):
  evaluate.run(inference_flags.build_options(evaluate.EvalOptions, FLAGS))


if __name__ == "__main__":
  cli.run(main)
