#!/bin/bash
# Trains InceptionV3 on NIH ChestX-ray14 as a MULTI-LABEL task (one sigmoid
# per finding, positive/negative-weighted cross-entropy), starting from the
# ImageNet checkpoint (inception_v3_2016_08_28) as CheXNet-style studies do:
#   1. downloads the pretrained checkpoint if it is not in
#      PRETRAINED_CHECKPOINT_DIR (or says how to supply it by hand),
#   2. converts DATASET_DIR (images/*.png + Data_Entry_2017.csv; split by
#      Patient ID, 20% validation) to grayscale TFRecords unless done already,
#   3. trains all layers (new Logits/AuxLogits: one output per finding),
#   4. evaluates: per-finding AUC and mean AUC on the validation patients.
# X-ray preprocessing: no flips (the heart is on the left), no colour jitter.
#
# Usage:
#   DATASET_DIR=/data/ChestX-ray14 scripts/train_inception_v3_on_chestxray14.sh
#   SMALL=1 scripts/train_inception_v3_on_chestxray14.sh  # smoke run on demo
#                                                         # data (or --small)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

# Where the ImageNet checkpoint is saved to (or already is).
PRETRAINED_CHECKPOINT_DIR="${PRETRAINED_CHECKPOINT_DIR:-/tmp/checkpoints}"
# Where the raw NIH data is: images/*.png and Data_Entry_2017.csv.
DATASET_DIR="${DATASET_DIR:-/tmp/ChestX-ray14}"
# Where the TFRecords are written.
TFRECORD_DIR="${TFRECORD_DIR:-${DATASET_DIR}/tfrecords}"
# Where the training checkpoints and event logs are saved to.
TRAIN_DIR="${TRAIN_DIR:-/tmp/chestxray14-models/inception_v3}"

DATASET_NAME=chestxray14
MODEL_NAME=inception_v3
PREPROCESSING=xray
IMAGE_SIZE="${IMAGE_SIZE:-299}"
DEPTH_MULTIPLIER=1.0            # the official checkpoint's width
BATCH_SIZE="${BATCH_SIZE:-32}"
TRAIN_STEPS="${TRAIN_STEPS:-20000}"

if [[ "${SMALL}" == "1" ]]; then
  small_run_dirs chestxray14
  IMAGE_SIZE=107
  DEPTH_MULTIPLIER=0.1
  BATCH_SIZE=4
  TRAIN_STEPS=2
  "${PYTHON}" "${REPO_DIR}/make_demo_data.py" --layout=chestxray14 \
    --output_dir="${DATASET_DIR}" --num_patients=12 --size=64
fi

ensure_checkpoint "${MODEL_NAME}" "${PRETRAINED_CHECKPOINT_DIR}" \
  "${DEPTH_MULTIPLIER}" "${IMAGE_SIZE}"

convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --grayscale \
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
  --checkpoint_path="${PRETRAINED_CHECKPOINT_DIR}/${MODEL_NAME}.ckpt" \
  --checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits \
  --max_number_of_steps="${TRAIN_STEPS}" \
  --batch_size="${BATCH_SIZE}" \
  --optimizer=adam \
  --opt_epsilon=1e-8 \
  --learning_rate=0.001 \
  --learning_rate_decay_type=exponential \
  --num_epochs_per_decay=1 \
  --learning_rate_decay_factor=0.1 \
  --save_interval_secs=600 \
  --save_summaries_secs=120 \
  --log_every_n_steps=100 \
  --weight_decay=0.00004

evaluate_model \
  --checkpoint_path="${TRAIN_DIR}" \
  --eval_dir="${TRAIN_DIR}/eval_validation" \
  --dataset_name="${DATASET_NAME}" \
  --dataset_split_name=validation \
  --dataset_dir="${TFRECORD_DIR}" \
  --model_name="${MODEL_NAME}" \
  --preprocessing_name="${PREPROCESSING}" \
  --depth_multiplier="${DEPTH_MULTIPLIER}" \
  --eval_image_size="${IMAGE_SIZE}"
