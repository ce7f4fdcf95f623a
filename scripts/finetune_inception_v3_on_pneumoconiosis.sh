#!/bin/bash
# Fine-tunes InceptionV3 (ImageNet, inception_v3_2016_08_28) on chest films
# sorted into one folder per pneumoconiosis stage (0 1 2 3), TF-Slim style:
#   1. downloads the pretrained checkpoint if it is not in
#      PRETRAINED_CHECKPOINT_DIR (or says how to supply it by hand),
#   2. converts DATASET_DIR (<stage>/<films>, 8- or 16-bit PNG/JPEG/TIFF) to
#      grayscale TFRecords (16-bit sources stay 16-bit; patient-less folders
#      are split per image, 20% validation) unless done already,
#   3. trains only the new Logits and AuxLogits layers, evaluates,
#   4. fine-tunes all layers from there, evaluates (accuracy, quadratic kappa).
# X-ray preprocessing: no flips (the heart is on the left), no colour jitter.
#
# Usage:
#   DATASET_DIR=/data/pneumoconiosis scripts/finetune_inception_v3_on_pneumoconiosis.sh
#   SMALL=1 scripts/finetune_inception_v3_on_pneumoconiosis.sh  # smoke run on
#                                                 # demo data (or --small)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

# Where the ImageNet checkpoint is saved to (or already is).
PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
# Where the raw films are: one folder per stage, 0 1 2 3.
DATASET_DIR="${DATASET_DIR:-/tmp/pneumoconiosis}"
# Where the TFRecords are written.
TFRECORD_DIR="${TFRECORD_DIR:-${DATASET_DIR}/tfrecords}"
# Where the training checkpoints and event logs are saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/pneumoconiosis-models/inception_v3}"

DATASET_NAME=pneumoconiosis
MODEL_NAME=inception_v3
PREPROCESSING=xray
IMAGE_SIZE="${IMAGE_SIZE:-299}"
DEPTH_MULTIPLIER=1.0            # the official checkpoint's width
BATCH_SIZE="${BATCH_SIZE:-32}"
LOGITS_STEPS="${LOGITS_STEPS:-2000}"
ALL_LAYERS_STEPS="${ALL_LAYERS_STEPS:-1500}"
EVAL_EVERY_PHASE=1

if [[ "${SMALL}" == "1" ]]; then
  small_run_dirs finetune_pneumoconiosis
  IMAGE_SIZE=107
  DEPTH_MULTIPLIER=0.1
  BATCH_SIZE=4
  LOGITS_STEPS=2
  ALL_LAYERS_STEPS=0   # the all-layers phase is smoke-tested by the kaggle_dr script
  EVAL_EVERY_PHASE=0
  "${PYTHON}" "${REPO_DIR}/make_demo_data.py" --layout=image_folder \
    --output_dir="${DATASET_DIR}" --per_class=6 --size=64 --bit_depth=16
fi

ensure_checkpoint "${MODEL_NAME}" "${PRETRAINED_CHECKPOINT_DIR}" \
  "${DEPTH_MULTIPLIER}" "${IMAGE_SIZE}"

convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --layout=image_folder \
  --class_names=0,1,2,3 \
  --grayscale \
  --validation_size=0.2 \
  --num_shards=2 \
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
FINAL_DIR="${TRAIN_DIR}/all"
if [[ "${ALL_LAYERS_STEPS}" == "0" ]]; then
  FINAL_DIR="${TRAIN_DIR}"
else
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
fi

evaluate_model \
  --checkpoint_path="${FINAL_DIR}" \
  --eval_dir="${FINAL_DIR}/eval_validation" \
  --dataset_split_name=validation \
  "${EVAL_FLAGS[@]}"
