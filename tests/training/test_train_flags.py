"""train_image_classifier.py: every TF-Slim flag exists and none is ignored."""
import dataclasses

import pytest
from absl import flags

import train_image_classifier as tic

TF_SLIM_FLAGS = """master train_dir num_clones clone_on_cpu worker_replicas num_ps_tasks
num_readers num_preprocessing_threads log_every_n_steps save_summaries_secs
save_interval_secs task weight_decay optimizer adadelta_rho
adagrad_initial_accumulator_value adam_beta1 adam_beta2 opt_epsilon
ftrl_learning_rate_power ftrl_initial_accumulator_value ftrl_l1 ftrl_l2 momentum
rmsprop_momentum rmsprop_decay learning_rate_decay_type learning_rate
end_learning_rate label_smoothing learning_rate_decay_factor num_epochs_per_decay
sync_replicas replicas_to_aggregate moving_average_decay dataset_name
dataset_split_name dataset_dir labels_offset model_name preprocessing_name
batch_size train_image_size max_number_of_steps use_grayscale checkpoint_path
checkpoint_exclude_scopes trainable_scopes ignore_missing_vars""".split()
OURS = """depth_multiplier class_weights balanced_sampling focal_gamma freeze_batch_norm
mixed_precision xla flip rotation_degrees shift_fraction brightness_delta
contrast_range per_image_standardization""".split()
# Used by main() to start a cluster server, not by the training config.
# Read by main: the cluster (with TF_CONFIG) and the evaluator task's eval run.
MAIN_ONLY = {"ps_hosts", "worker_hosts", "job_name", "worker_scratch_dir",
             "eval_split_name", "eval_batch_size", "eval_dir", "eval_interval_secs",
             "timeout", "max_num_batches", "select_by", "bootstrap", "threshold",
             "top_k"}


@pytest.fixture
def parsed():
  FLAGS = flags.FLAGS
  if not FLAGS.is_parsed():
    FLAGS(["train_image_classifier.py"])
  saved = {name: FLAGS[name].value for name in tic.TRAINING_FLAGS}
  yield FLAGS
  for name, value in saved.items():
    FLAGS[name].value = value


def test_every_tf_slim_training_flag_is_defined():
  missing = [n for n in TF_SLIM_FLAGS + OURS if n not in tic.TRAINING_FLAGS]
  assert not missing


def _other_value(flag):
  value = flag.value
  if isinstance(flag.parser, flags.ListParser):
    return ["0.7", "1.3"]
  if getattr(flag.parser, "enum_values", None):
    return next(v for v in flag.parser.enum_values if v != value)
  if flag.flag_type() == "bool":
    return not value if value is not None else True
  if flag.flag_type() == "int":
    return (value or 0) + 3
  if flag.flag_type() == "float":
    return (value or 0.0) + 0.5
  return (value or "") + "x"


def _config(FLAGS):
  config = dataclasses.asdict(tic.config_from_flags(FLAGS))
  config.pop("flag_values")
  return config


def test_no_flag_is_accepted_and_ignored(parsed):
  base = _config(parsed)
  ignored = []
  for name in tic.TRAINING_FLAGS:
    if name in MAIN_ONLY:
      continue
    flag = parsed[name]
    old = flag.value
    flag.value = _other_value(flag)
    if _config(parsed) == base:
      ignored.append(name)
    flag.value = old
  assert not ignored, "flags that change nothing: %s" % ignored


def test_flags_json_records_every_flag(parsed):
  values = tic.flag_values(parsed)
  assert set(values) == set(tic.TRAINING_FLAGS)
  assert values["optimizer"] == "rmsprop"
