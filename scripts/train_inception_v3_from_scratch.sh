#!/bin/bash
# Trains InceptionV3 from scratch (random initialisation, no checkpoint) on a
# converted dataset, with TF-Slim's InceptionV3 recipe: RMSProp, exponential
# learning-rate decay every 2 epochs, label smoothing 0.1 and an exponential
# moving average of the weights (used again at evaluation):
#   1. converts DATASET_DIR (raw layout of DATASET_NAME, default the Kaggle
#      diabetic retinopathy train/*.jpeg + trainLabels.csv) unless done already,
#   2. trains for TRAIN_STEPS,
#   3. evaluates the moving-averaged weights on the validation patients.
#
# Usage:
#   DATASET_DIR=/data/kaggle_dr scripts/train_inception_v3_from_scratch.sh
#   DATASET_NAME=kermany_oct DATASET_DIR=/data/OCT2017 scripts/train_inception_v3_from_scratch.sh
#   SMALL=1 scripts/train_inception_v3_from_scratch.sh   # smoke run on demo
#                                                        # data (or --small)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

# Which dataset and where its raw files are.
DATASET_NAME="${DATASET_NAME:-kaggle_dr}"
DATASET_DIR="${DATASET_DIR:-/tmp/kaggle_dr}"
# Where the TFRecords are written.
TFRECORD_DIR="${TFRECORD_DIR:-${DATASET_DIR}/tfrecords}"
# Where the training checkpoints and event logs are saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/${DATASET_NAME}-models/inception_v3_scratch}"

MODEL_NAME=inception_v3
PREPROCESSING="${PREPROCESSING:-fundus}"
IMAGE_SIZE="${IMAGE_SIZE:-299}"
DEPTH_MULTIPLIER="${DEPTH_MULTIPLIER:-1.0}"
BATCH_SIZE="${BATCH_SIZE:-32}"
TRAIN_STEPS="${TRAIN_STEPS:-100000}"
MOVING_AVERAGE_DECAY=0.9999

if [[ "${SMALL}" == "1" ]]; then
  small_run_dirs from_scratch
  DATASET_NAME=kaggle_dr
  PREPROCESSING=fundus
  IMAGE_SIZE=107
  DEPTH_MULTIPLIER=0.1
  BATCH_SIZE=4
  TRAIN_STEPS=2
  "${PYTHON}" "${REPO_DIR}/make_demo_data.py" --layout=kaggle_dr \
    --output_dir="${DATASET_DIR}" --num_patients=10 --size=96
fi

convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --validation_size=0.2 \
  --num_shards=4 \
  --random_seed=0

train_model \
  --train_dir="${TRAIN_DIR}" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=train \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name="${PREPROCESSING}" \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --train_image_size="${IMAGE_SIZE}" \
  --max_number_of_steps="${TRAIN_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --optimizer=rmsprop \
  --rmsprop_decay=0.9 \
  --opt_epsilon=1.0 \
  --learning_rate=0.045 \
  --learning_rate_decay_type=exponential \
  --num_epochs_per_decay=2 \
  --learning_rate_decay_factor=0.94 \
  --label_smoothing=0.1 \
  --moving_average_decay="${MOVING_AVERAGE_DECAY}" \
  --weight_decay=0.00004 \
  --save_interval_secs=600 \
  --save_summaries_secs=120 \
  --log_every_n_steps=100

evaluate_model \
  --checkpoint_path="${TRAIN_DIR}" \
  --eval_dir="${TRAIN_DIR}/eval_validation" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=validation \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name="${PREPROCESSING}" \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --eval_image_size="${IMAGE_SIZE}" \
  --moving_average_decay="${MOVING_AVERAGE_DECAY}"
