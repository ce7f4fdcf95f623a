"""The model flags every inference script shares (eval, predict, export,
visualize), declared once.

Each of them defaults to what training recorded in model_spec.json next to
the checkpoint (nets/model_spec.py); a flag given explicitly must agree with
it (``--moving_average_decay`` is a choice of inference). Only flags the user
actually gave are passed on (``model_overrides``), so an unset flag can never
silently replace a trained value.
"""
from absl import flags

# flag name -> ModelSpec field
MODEL_FLAGS = {
    "model_name": "model_name",
    "preprocessing_name": "preprocessing_name",
    "depth_multiplier": "depth_multiplier",
    "labels_offset": "labels_offset",
    "moving_average_decay": "moving_average_decay",
    "mixed_precision": "mixed_precision",
}


def define_model_flags(image_size_flag: str = "eval_image_size") -> None:
  """TF-Slim's inference flags, defaulting to the model spec."""
  flags.DEFINE_string("checkpoint_path", None,
                      "A checkpoint (model.ckpt-<step>) or a train_dir (its latest; eval: "
                      "every one with --all_checkpoints / --eval_interval_secs).")
  flags.DEFINE_string("master", "", "TensorFlow session target.")
  flags.DEFINE_string("model_name", "inception_v3",
                      "Network architecture; default: the model_spec.json "
                      "training wrote next to the checkpoint (TF-Slim's "
                      "inception_v3 for a checkpoint without one).")
  flags.DEFINE_string("preprocessing_name", None,
                      "Default: training's (model_spec.json), with every "
                      "preprocessing option training resolved.")
  flags.DEFINE_float("depth_multiplier", None,
                     "slim-med: default training's (model_spec.json).")
  flags.DEFINE_integer("labels_offset", 0,
                       "An offset for the labels in the dataset: the net's class "
                       "i is the dataset's class i+N, reported by that name; "
                       "default training's (model_spec.json).")
  flags.DEFINE_float("moving_average_decay", None,
                     "Use the moving-average weights trained with this decay.")
  flags.DEFINE_boolean("mixed_precision", None,
                       "slim-med: 16-bit inference where it is faster (bfloat16 "
                       "on CPUs with BF16 instructions, float16 on GPUs; float32 "
                       "variables); default training's (model_spec.json).")
  flags.DEFINE_integer(image_size_flag, None,
                       "Net input size; default training's (model_spec.json).")
  MODEL_FLAGS[image_size_flag] = "image_size"


def model_overrides(flag_values=None) -> dict:
  """{ModelSpec field: value} of the model flags given on the command line;
  a flag left at its default is absent (the spec decides)."""
  flag_values = flag_values or flags.FLAGS
  out = {}
  for name, field in MODEL_FLAGS.items():
    if name in flag_values and flag_values[name].present:
      out[field] = flag_values[name].value
  return out


def flag_names() -> dict:
  """{ModelSpec field: flag name}, for error messages."""
  return {field: name for name, field in MODEL_FLAGS.items()}
