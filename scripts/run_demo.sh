#!/bin/bash
# The one-command demo: raw images -> TFRecords -> InceptionV3 -> evaluation.
#
# 1. make_demo_data.py writes a synthetic Kaggle diabetic retinopathy dataset
#    (train/{patient}_{left,right}.jpeg + trainLabels.csv): fundus-like photos
#    on black borders whose grade 0-4 is the number of dark lesion spots.
# 2. download_and_convert_data.py crops the black borders, resizes, splits by
#    patient (20% validation) and writes sharded TFRecords.
# 3. train_image_classifier.py trains a thin InceptionV3 from scratch.
# 4. eval_image_classifier.py evaluates it on the validation patients and the
#    script prints the accuracy next to chance (always the most common grade).
#
# About 10 minutes on 2 CPU cores. Usage (from anywhere):
#   scripts/run_demo.sh            # the demo
#   SMALL=1 scripts/run_demo.sh    # a one-minute smoke run (or --small)
# Variables below can be overridden from the environment, e.g.
#   WORK_DIR=/data/demo TRAIN_STEPS=1000 scripts/run_demo.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

WORK_DIR="${WORK_DIR:-/tmp/slim-med-demo}"
DATASET_NAME=kaggle_dr
DATASET_DIR="${WORK_DIR}/kaggle_dr_raw"        # raw Kaggle-style layout
TFRECORD_DIR="${WORK_DIR}/kaggle_dr_tfrecords" # converted records
TRAIN_DIR="${TRAIN_DIR:-${WORK_DIR}/train_inception_v3}"
MODEL_NAME=inception_v3

if [[ "${SMALL}" == "1" ]]; then
  NUM_PATIENTS="${NUM_PATIENTS:-12}"
  RAW_SIZE=96
  IMAGE_SIZE=107        # InceptionV3's smallest input with its AuxLogits head
  DEPTH_MULTIPLIER=0.1
  BATCH_SIZE=4
  TRAIN_STEPS="${TRAIN_STEPS:-3}"
else
  NUM_PATIENTS="${NUM_PATIENTS:-250}"  # 500 eyes, ~100 in validation
  RAW_SIZE=128
  IMAGE_SIZE=107
  DEPTH_MULTIPLIER=0.25  # a quarter of InceptionV3's width: CPU-sized
  BATCH_SIZE=32
  TRAIN_STEPS="${TRAIN_STEPS:-500}"
fi

echo "== 1/4 demo data: ${NUM_PATIENTS} patients -> ${DATASET_DIR}"
rm -rf "${DATASET_DIR}"
"${PYTHON}" "${REPO_DIR}/make_demo_data.py" \
  --layout=kaggle_dr \
  --output_dir="${DATASET_DIR}" \
  --num_patients="${NUM_PATIENTS}" \
  --size="${RAW_SIZE}" \
  --seed=0

echo "== 2/4 convert to TFRecords -> ${TFRECORD_DIR}"
convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --validation_size=0.2 \
  --num_shards=2 \
  --random_seed=0 \
  --overwrite

echo "== 3/4 train ${MODEL_NAME} (depth_multiplier ${DEPTH_MULTIPLIER}) for ${TRAIN_STEPS} steps -> ${TRAIN_DIR}"
# A fresh run each time (the demo is a demonstration, not a resumable job).
rm -rf "${TRAIN_DIR}"
# --batch_norm_decay=0.9: the arg_scope default (0.9997) needs tens of
# thousands of steps before the moving statistics used at evaluation settle.
# --opt_epsilon=1e-8: TF-Slim's default epsilon (1.0) suits RMSProp; with Adam
# it shrinks every step and the short demo would not learn.
train_model \
  --train_dir="${TRAIN_DIR}" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=train \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name=fundus \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --train_image_size="${IMAGE_SIZE}" \
  --batch_norm_decay=0.9 \
  --max_number_of_steps="${TRAIN_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --optimizer=adam \
  --opt_epsilon=1e-8 \
  --learning_rate=0.001 \
  --learning_rate_decay_type=fixed \
  --weight_decay=0.00004 \
  --save_interval_secs=600 \
  --save_summaries_secs=60 \
  --log_every_n_steps=25 \
  --seed=0

echo "== 4/4 evaluate on the validation patients"
evaluate_model \
  --checkpoint_path="${TRAIN_DIR}" \
  --eval_dir="${TRAIN_DIR}/eval_validation" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=validation \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name=fundus \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --eval_image_size="${IMAGE_SIZE}" \
  --batch_size=50
echo "TensorBoard: tensorboard --logdir=${TRAIN_DIR}"
