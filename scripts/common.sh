#!/bin/bash
# Helpers shared by the experiment scripts in this folder (sourced, not run).
#
# The steps every experiment shares are functions here; a script calls them
# with the flags of the real command, so it still reads as its experiment's
# flags, TF-Slim style:
#   ensure_checkpoint MODEL DIR ...   the pretrained checkpoint (download)
#   convert_data FLAGS...             download_and_convert_data.py, unless done
#   train_model FLAGS...              train_image_classifier.py
#   evaluate_model FLAGS...           eval_image_classifier.py + one RESULT line
#
# Every script accepts a small-run mode, `SMALL=1 scripts/<name>.sh` or
# `scripts/<name>.sh --small`: demo data from make_demo_data.py, a thin
# InceptionV3 (depth_multiplier 0.1) at 107 px and a few steps, so the whole
# convert -> train -> eval path runs in about a minute. Small mode never
# downloads anything: fine-tune scripts use a STAND-IN checkpoint with the
# official variable names and random values (nets/checkpoints.py).

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
# Top-level scripts are called by path; packages import from the checkout.
export PYTHONPATH="${REPO_DIR}${PYTHONPATH:+:${PYTHONPATH}}"

# small_mode "$@": sets SMALL=1 when --small is given; SMALL may also come
# from the environment. Sets SMALL_TRAIN_FLAGS: extra training flags of the
# small run (no graph.pbtxt/.meta files, no image summaries: start-up time).
small_mode() {
  SMALL="${SMALL:-0}"
  SMALL_TRAIN_FLAGS=""
  local arg
  for arg in "$@"; do
    case "${arg}" in
      --small) SMALL=1 ;;
      -h|--help)
        sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//; /^set -euo/d'
        exit 0 ;;
      *) echo "Unknown argument: ${arg} (use --small or set variables, see --help)" >&2
         exit 2 ;;
    esac
  done
  if [[ "${SMALL}" == "1" ]]; then
    SMALL_TRAIN_FLAGS="--nosave_graph --num_image_summaries=0"
  fi
  # MIXED_PRECISION=1 (default): --mixed_precision, i.e. bfloat16 compute on
  # CPUs with BF16 instructions, float16 on GPUs, float32 elsewhere (with a
  # warning); evaluation follows training (flags.json). MIXED_PRECISION=0: float32.
  PRECISION_FLAGS=""
  if [[ "${MIXED_PRECISION:-1}" == "1" ]]; then
    PRECISION_FLAGS="--mixed_precision"
  fi
}

# small_run_dirs NAME: the folders of a small run, all under WORK_DIR
# (default /tmp/slim-med-small/NAME), which is emptied first: DATASET_DIR
# (demo data), TFRECORD_DIR, TRAIN_DIR, and PRETRAINED_CHECKPOINT_DIR for the
# stand-in checkpoint (STANDIN_CHECKPOINT_DIR when set: tests share one).
small_run_dirs() {
  WORK_DIR="${WORK_DIR:-/tmp/slim-med-small/$1}"
  PRETRAINED_CHECKPOINT_DIR="${STANDIN_CHECKPOINT_DIR:-${WORK_DIR}/standin_checkpoint}"
  DATASET_DIR="${WORK_DIR}/raw"
  TFRECORD_DIR="${WORK_DIR}/tfrecords"
  TRAIN_DIR="${WORK_DIR}/train"
  rm -rf "${WORK_DIR}"
}

# ensure_checkpoint MODEL_NAME DIR [DEPTH_MULTIPLIER IMAGE_SIZE]
#
# Makes sure DIR/<model>.ckpt exists. In small mode writes a stand-in;
# otherwise downloads and unpacks the official TF-Slim archive (e.g.
# http://download.tensorflow.org/models/inception_v3_2016_08_28.tar.gz), and
# if that fails says how to supply it by hand.
ensure_checkpoint() {
  local model="$1" dir="$2" depth="${3:-1.0}" size="${4:-}"
  local ckpt="${dir}/${model}.ckpt"
  if compgen -G "${ckpt}*" > /dev/null; then
    echo "Using checkpoint ${ckpt}"
    return 0
  fi
  mkdir -p "${dir}"
  dir="$(cd "${dir}" && pwd)"
  ckpt="${dir}/${model}.ckpt"
  # Python runs from the checkout, so a stray nets.py in the caller's folder
  # cannot shadow our package.
  if [[ "${SMALL}" == "1" ]]; then
    echo "SMALL mode: writing a STAND-IN ${model} checkpoint (official names, random values)"
    (cd "${REPO_DIR}" && "${PYTHON}" -m nets.checkpoints "${model}" "${ckpt}" "" \
      "${depth}" ${size})
    return 0
  fi
  # CHECKPOINT_URL overrides the official address (a mirror, a file:// URL).
  local url="${CHECKPOINT_URL:-}"
  if [[ -z "${url}" ]]; then
    url="$(cd "${REPO_DIR}" && "${PYTHON}" -c "
import sys
from nets.checkpoints import OFFICIAL_CHECKPOINTS
print(OFFICIAL_CHECKPOINTS[sys.argv[1]][0])" "${model}" 2> /dev/null)" || url=""
  fi
  if [[ -z "${url}" ]]; then
    echo "No official checkpoint known for ${model}; put it at ${ckpt}" >&2
    exit 1
  fi
  local archive="${dir}/$(basename "${url}")"
  echo "Downloading ${url} to ${dir}"
  if "${PYTHON}" -c "
import sys, urllib.request
try:
  urllib.request.urlretrieve(sys.argv[1], sys.argv[2])
except Exception as err:
  sys.exit('Download failed: %s' % err)" "${url}" "${archive}.part" \
      && mv "${archive}.part" "${archive}" && tar -xzf "${archive}" -C "${dir}" \
      && compgen -G "${ckpt}*" > /dev/null; then
    rm -f "${archive}"
    echo "Unpacked ${ckpt}"
    return 0
  fi
  rm -f "${archive}.part"
  cat >&2 <<MSG
Could not download or unpack the pretrained checkpoint:
  ${url}
Supply it by hand, on a machine with internet access:
  curl -LO ${url}       (or wget ${url})
  mkdir -p ${dir}
  tar -xzf $(basename "${url}") -C ${dir}
so that ${ckpt} exists, then run this script again
(or set PRETRAINED_CHECKPOINT_DIR to the folder that holds ${model}.ckpt).
MSG
  exit 1
}

# convert_data FLAGS...: download_and_convert_data.py with these flags, unless
# its output folder (--output_dir, default <--dataset_dir>/tfrecords) holds a
# converted dataset already; --overwrite converts again.
convert_data() {
  local arg dataset_dir="" output_dir="" overwrite=0
  for arg in "$@"; do
    case "${arg}" in
      --dataset_dir=*) dataset_dir="${arg#*=}" ;;
      --output_dir=*) output_dir="${arg#*=}" ;;
      --overwrite) overwrite=1 ;;
    esac
  done
  output_dir="${output_dir:-${dataset_dir}/tfrecords}"
  if [[ "${overwrite}" == "0" && -f "${output_dir}/dataset_info.json" ]]; then
    echo "Using converted records in ${output_dir}"
    return 0
  fi
  "${PYTHON}" "${REPO_DIR}/download_and_convert_data.py" "$@"
}

# train_model FLAGS...: train_image_classifier.py with these flags, then the
# small run's (SMALL_TRAIN_FLAGS) and MIXED_PRECISION's (PRECISION_FLAGS).
train_model() {
  "${PYTHON}" "${REPO_DIR}/train_image_classifier.py" "$@" \
    ${SMALL_TRAIN_FLAGS} ${PRECISION_FLAGS}
}

# evaluate_model FLAGS...: eval_image_classifier.py --alsologtostderr with
# these flags (--eval_dir required), then print_accuracy of the --eval_dir.
evaluate_model() {
  local arg eval_dir=""
  for arg in "$@"; do
    case "${arg}" in
      --eval_dir=*) eval_dir="${arg#*=}" ;;
    esac
  done
  if [[ -z "${eval_dir}" ]]; then
    echo "evaluate_model: pass --eval_dir=<folder> (its metrics.json is printed)" >&2
    exit 2
  fi
  "${PYTHON}" "${REPO_DIR}/eval_image_classifier.py" --alsologtostderr "$@"
  print_accuracy "${eval_dir}"
}

# print_accuracy EVAL_DIR: one line with the headline numbers of metrics.json.
print_accuracy() {
  "${PYTHON}" - "$1/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
if m.get("task") == "multilabel":
  print("RESULT %s: mean AUC %s over %d images" % (
      sys.argv[1], m.get("auc"), m.get("num_examples", 0)))
else:
  support = [sum(row) for row in m.get("confusion_matrix", [])] or [1]
  chance = max(support) / float(sum(support))
  print("RESULT %s: accuracy %.3f on %d images (chance, always the most "
        "common class: %.3f; quadratic kappa %s)" % (
            sys.argv[1], m["accuracy"], m.get("num_examples", 0), chance,
            "%.3f" % m["kappa"] if m.get("kappa") is not None else "n/a"))
PY
}
