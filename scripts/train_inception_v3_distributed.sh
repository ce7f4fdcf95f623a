#!/bin/bash
# Trains InceptionV3 on TensorFlow's distributed runtime, every task on this
# machine (127.0.0.1), configured the way cluster launchers do it: each task
# is the same training command with its own TF_CONFIG.
#   1. converts DATASET_DIR (Kaggle diabetic retinopathy layout) unless done,
#   2. 1 parameter server + 2 workers (worker 0 is the chief), asynchronous
#      (SYNC=1: --sync_replicas --replicas_to_aggregate=2),
#   3. 2 workers without a ps: synchronous all-reduce (MultiWorkerMirroredStrategy),
#   4. evaluates both train_dirs on the validation patients.
#
# Under a launcher that sets TF_CONFIG itself (Kubeflow TFJob, ...), every
# replica runs just the training command below (no --ps_hosts etc.):
#   the command in start_task below, with a shared --train_dir;
# and an 'evaluator' replica with the same command evaluates the chief's
# checkpoints (README: Scaling out).
#
# Usage:
#   DATASET_DIR=/data/kaggle_dr scripts/train_inception_v3_distributed.sh
#   SMALL=1 scripts/train_inception_v3_distributed.sh   # smoke run on demo data
#                                                       # (or --small)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
small_mode "$@"

DATASET_NAME="${DATASET_NAME:-kaggle_dr}"
DATASET_DIR="${DATASET_DIR:-/tmp/kaggle_dr}"
TFRECORD_DIR="${TFRECORD_DIR:-${DATASET_DIR}/tfrecords}"
# Where the two runs write (the ps run, the all-reduce run).
TRAIN_DIR="${TRAIN_DIR:-/tmp/${DATASET_NAME}-models/inception_v3_distributed}"

MODEL_NAME="${MODEL_NAME:-inception_v3}"
PREPROCESSING="${PREPROCESSING:-fundus}"
IMAGE_SIZE="${IMAGE_SIZE:-299}"
DEPTH_MULTIPLIER="${DEPTH_MULTIPLIER:-1.0}"
BATCH_SIZE="${BATCH_SIZE:-32}"
TRAIN_STEPS="${TRAIN_STEPS:-100000}"
SYNC="${SYNC:-0}"
# Upper bound on any one task's life (seconds); ps tasks are stopped at the end.
TASK_TIMEOUT="${TASK_TIMEOUT:-$((7 * 24 * 3600))}"
MODEL_FLAGS="--depth_multiplier=${DEPTH_MULTIPLIER}"

if [[ "${SMALL}" == "1" ]]; then
  small_run_dirs distributed
  DATASET_NAME=kaggle_dr
  # A two-convolution net keeps the five TensorFlow processes CI-sized.
  MODEL_NAME=tiny_cnn
  MODEL_FLAGS=""
  IMAGE_SIZE=32
  BATCH_SIZE=4
  TRAIN_STEPS=6
  TASK_TIMEOUT=300
  "${PYTHON}" "${REPO_DIR}/make_demo_data.py" --layout=kaggle_dr \
    --output_dir="${DATASET_DIR}" --num_patients=10 --size=64
  export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
fi

# The default 24 shards give every one of up to 24 workers its own.
convert_data \
  --dataset_name="${DATASET_NAME}" \
  --dataset_dir="${DATASET_DIR}" \
  --output_dir="${TFRECORD_DIR}" \
  --record_image_size="${IMAGE_SIZE}" \
  --validation_size=0.2 \
  --random_seed=0

free_port() {
  "${PYTHON}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_task TRAIN_DIR CLUSTER_JSON TYPE INDEX: one task in the background
# (train_image_classifier.py with its TF_CONFIG, under a timeout, so not
# train_model); its PID is appended to PIDS.
PIDS=()
start_task() {
  local train_dir="$1" cluster="$2" type="$3" index="$4"
  TF_CONFIG="{\"cluster\": ${cluster}, \"task\": {\"type\": \"${type}\", \"index\": ${index}}}" \
    timeout "${TASK_TIMEOUT}" "${PYTHON}" "${REPO_DIR}/train_image_classifier.py" \
    --train_dir="${train_dir}" \
    --dataset_name="${DATASET_NAME}" \
    --dataset_split_name=train \
    --dataset_dir="${TFRECORD_DIR}" \
    --model_name="${MODEL_NAME}" \
    --preprocessing_name="${PREPROCESSING}" \
    ${MODEL_FLAGS} \
    --train_image_size="${IMAGE_SIZE}" \
    --max_number_of_steps="${TRAIN_STEPS}" \
    --batch_size="${BATCH_SIZE}" \
    --optimizer=rmsprop \
    --learning_rate=0.01 \
    --save_interval_secs=600 \
    --save_summaries_secs=600 \
    --log_every_n_steps=100 \
    ${SYNC_FLAGS} ${SMALL_TRAIN_FLAGS} > "${train_dir}.${type}${index}.log" 2>&1 &
  PIDS+=($!)
}
stop_tasks() { for pid in "${PIDS[@]}"; do kill "${pid}" 2> /dev/null || true; done; }
trap stop_tasks EXIT

# --- 1 ps + 2 workers --------------------------------------------------------
SYNC_FLAGS=""
if [[ "${SYNC}" == "1" ]]; then
  SYNC_FLAGS="--sync_replicas --replicas_to_aggregate=2"
fi
PS_DIR="${TRAIN_DIR}/ps"
mkdir -p "${TRAIN_DIR}"
CLUSTER="{\"ps\": [\"127.0.0.1:$(free_port)\"], \"worker\": [\"127.0.0.1:$(free_port)\", \"127.0.0.1:$(free_port)\"]}"
echo "TF_CONFIG cluster: ${CLUSTER} (logs: ${PS_DIR}.*.log)"
start_task "${PS_DIR}" "${CLUSTER}" ps 0; PS_PID="${PIDS[-1]}"
start_task "${PS_DIR}" "${CLUSTER}" worker 0; CHIEF_PID="${PIDS[-1]}"
start_task "${PS_DIR}" "${CLUSTER}" worker 1; WORKER_PID="${PIDS[-1]}"
wait "${CHIEF_PID}"
wait "${WORKER_PID}"
kill "${PS_PID}"   # a ps serves until it is stopped

# --- 2 workers, all-reduce (no ps job) ----------------------------------------
SYNC_FLAGS=""
MWMS_DIR="${TRAIN_DIR}/allreduce"
CLUSTER="{\"worker\": [\"127.0.0.1:$(free_port)\", \"127.0.0.1:$(free_port)\"]}"
echo "TF_CONFIG cluster: ${CLUSTER} (logs: ${MWMS_DIR}.*.log)"
start_task "${MWMS_DIR}" "${CLUSTER}" worker 0; CHIEF_PID="${PIDS[-1]}"
start_task "${MWMS_DIR}" "${CLUSTER}" worker 1; WORKER_PID="${PIDS[-1]}"
wait "${CHIEF_PID}"
wait "${WORKER_PID}"

for run_dir in "${PS_DIR}" "${MWMS_DIR}"; do
  evaluate_model \
    --checkpoint_path="${run_dir}" \
    --eval_dir="${run_dir}/eval_validation" \
    --dataset_name="${DATASET_NAME}" \
    --dataset_split_name=validation \
    --dataset_dir="${TFRECORD_DIR}"
done
