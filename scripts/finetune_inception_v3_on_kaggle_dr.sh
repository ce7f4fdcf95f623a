#!/bin/bash
# Fine-tunes InceptionV3 (ImageNet, inception_v3_2016_08_28) on Kaggle
# diabetic retinopathy grades 0-4, TF-Slim style:
#   1. downloads the pretrained checkpoint if it is not in
#      PRETRAINED_CHECKPOINT_DIR (or says how to supply it by hand),
#   2. converts DATASET_DIR (train/*.jpeg + trainLabels.csv) to TFRecords
#      (black borders cropped, patient-level 80/20 split) unless done already,
#   3. trains only the new Logits and AuxLogits layers, evaluates,
#   4. fine-tunes all layers from there, evaluates (accuracy, quadratic kappa).
#
# Usage:
#   DATASET_DIR=/data/kaggle_dr scripts/finetune_inception_v3_on_kaggle_dr.sh
#   SMALL=1 scripts/finetune_inception_v3_on_kaggle_dr.sh   # smoke run on demo
#                                                           # data (or --small)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

# Where the ImageNet checkpoint is saved to (or already is).
PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
# Where the raw Kaggle data is: train/*.jpeg and trainLabels.csv.
DATASET_DIR="${DATASET_DIR:-/tmp/kaggle_dr}"
# Where the TFRecords are written.
TFRECORD_DIR="${TFRECORD_DIR:-${DATASET_DIR}/tfrecords}"
# Where the training checkpoints and event logs are saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/kaggle_dr-models/inception_v3}"

DATASET_NAME=kaggle_dr
MODEL_NAME=inception_v3
PREPROCESSING=fundus
IMAGE_SIZE="${IMAGE_SIZE:-299}"
DEPTH_MULTIPLIER=1.0            # the official checkpoint's width
BATCH_SIZE="${BATCH_SIZE:-32}"
LOGITS_STEPS="${LOGITS_STEPS:-3000}"
ALL_LAYERS_STEPS="${ALL_LAYERS_STEPS:-1500}"
EVAL_EVERY_PHASE=1

if [[ "${SMALL}" == "1" ]]; then
  small_run_dirs finetune_kaggle_dr
  IMAGE_SIZE=107
  DEPTH_MULTIPLIER=0.1
  BATCH_SIZE=4
  LOGITS_STEPS=2
  ALL_LAYERS_STEPS=2   # both phases, the only small run that does
  EVAL_EVERY_PHASE=0
  "${PYTHON}" "${REPO_DIR}/make_demo_data.py" --layout=kaggle_dr \
    --output_dir="${DATASET_DIR}" --num_patients=10 --size=96
fi

ensure_checkpoint "${MODEL_NAME}" "${PRETRAINED_CHECKPOINT_DIR}" \
  "${DEPTH_MULTIPLIER}" "${IMAGE_SIZE}"

convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --validation_size=0.2 \
  --num_shards=4 \
  --random_seed=0

# Fine-tune only the new layers.
train_model \
  --train_dir="${TRAIN_DIR}" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=train \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name="${PREPROCESSING}" \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --train_image_size="${IMAGE_SIZE}" \
  --checkpoint_path="${PRETRAINED_CHECKPOINT_DIR}/${MODEL_NAME}.ckpt" \
  --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
  --trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
  --max_number_of_steps="${LOGITS_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --learning_rate=0.01 \
  --learning_rate_decay_type=fixed \
  --save_interval_secs=100 \
  --save_summaries_secs=100 \
  --log_every_n_steps=100 \
  --optimizer=rmsprop \
  --weight_decay=0.00004

# The evaluation flags of both phases (--dataset_split_name apart).
EVAL_FLAGS=(
  --dataset_name="${DATASET_NAME}"
  --dataset_dir="${TFRECORD_DIR}"
  --model_name="${MODEL_NAME}"
  --preprocessing_name="${PREPROCESSING}"
  --depth_multiplier="${DEPTH_MULTIPLIER}"
  --eval_image_size="${IMAGE_SIZE}"
)

if [[ "${EVAL_EVERY_PHASE}" == "1" ]]; then
  evaluate_model \
    --checkpoint_path="${TRAIN_DIR}" \
    --eval_dir="${TRAIN_DIR}/eval_validation" \
    --dataset_split_name=validation \
    "${EVAL_FLAGS[@]}"
fi

# Fine-tune all the layers, starting from the run above.
train_model \
  --train_dir="${TRAIN_DIR}/all" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=train \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name="${PREPROCESSING}" \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --train_image_size="${IMAGE_SIZE}" \
  --checkpoint_path="${TRAIN_DIR}" \
  --max_number_of_steps="${ALL_LAYERS_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --learning_rate=0.0001 \
  --learning_rate_decay_type=fixed \
  --save_interval_secs=100 \
  --save_summaries_secs=100 \
  --log_every_n_steps=100 \
  --optimizer=rmsprop \
  --weight_decay=0.00004

evaluate_model \
  --checkpoint_path="${TRAIN_DIR}/all" \
  --eval_dir="${TRAIN_DIR}/all/eval_validation" \
  --dataset_split_name=validation \
  "${EVAL_FLAGS[@]}"
