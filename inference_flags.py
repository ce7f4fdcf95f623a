"""The flags every inference script shares (eval, predict, export,
visualize), declared once, and how a script builds its options from them.

``CheckpointFlags`` (--checkpoint_path, --master) and ``ModelFlags`` are
dataclasses of ``flagdefs.option`` fields, like the training options. A script
defines them with ``define_model_flags`` (listed under inference_flags in
--helpfull), its own options with ``flagdefs.define(<its Options>)``, and
makes its Options with ``build_options``.

Each model flag defaults to what training recorded in model_spec.json next to
the checkpoint (nets/model_spec.py); a flag given explicitly must agree with
it (``--moving_average_decay`` is a choice of inference). Only flags the user
actually gave are passed on (``model_overrides``), so an unset flag can never
silently replace a trained value.
"""
import dataclasses
from typing import Optional

from absl import flags

import flagdefs
from flagdefs import option
from nets import model_spec


@dataclasses.dataclass
class CheckpointFlags:
  """The options every inference script's Options has besides its own
  (``build_options`` sets them from these flags)."""
  checkpoint_path: Optional[str] = option(
      "A checkpoint (model.ckpt-<step>) or a train_dir (its latest; eval: "
      "every one with --all_checkpoints / --eval_interval_secs).", default=None)
  master: str = option("TensorFlow session target.", default="")


_IMAGE_SIZE_HELP = "Net input size; default training's (model_spec.json)."


@dataclasses.dataclass
class ModelFlags:
  """TF-Slim's inference flags that describe the model, defaulting to the
  model spec: field = ModelSpec field, and the flag reaches the spec only
  when given (``model_overrides``), so this class is never built."""
  model_name: str = option(
      "Network architecture; default: the model_spec.json training wrote next "
      "to the checkpoint (TF-Slim's inception_v3 for a checkpoint without "
      "one).", default=model_spec.DEFAULT_MODEL_NAME)
  preprocessing_name: Optional[str] = option(
      "Default: training's (model_spec.json), with every preprocessing option "
      "training resolved.", default=None)
  depth_multiplier: Optional[float] = option(
      "slim-med: default training's (model_spec.json).", default=None)
  labels_offset: int = option(
      "An offset for the labels in the dataset: the net's class i is the "
      "dataset's class i+N, reported by that name; default training's "
      "(model_spec.json).", default=0)
  moving_average_decay: Optional[float] = option(
      "Use the moving-average weights trained with this decay.", default=None)
  mixed_precision: Optional[bool] = option(
      "slim-med: 16-bit inference where it is faster (bfloat16 on CPUs with "
      "BF16 instructions, float16 on GPUs; float32 variables); default "
      "training's (model_spec.json).", default=None)
  image_size: Optional[int] = option(_IMAGE_SIZE_HELP, default=None,
                                     flag_name="eval_image_size")


@dataclasses.dataclass
class ExportModelFlags(ModelFlags):
  """export_inference_graph.py's: TF-Slim names its input size --image_size."""
  image_size: Optional[int] = option(_IMAGE_SIZE_HELP, default=None,
                                     flag_name="image_size")


def define_model_flags(model_flags=ModelFlags) -> None:
  """Defines --checkpoint_path, --master and the ``model_flags``."""
  flagdefs.define(CheckpointFlags)
  flagdefs.define(model_flags)


def model_overrides(flag_values=None, model_flags=ModelFlags) -> dict:
  """{ModelSpec field: value} of the model flags given on the command line;
  a flag left at its default is absent (the spec decides)."""
  flag_values = flags.FLAGS if flag_values is None else flag_values
  out = {}
  for field in flagdefs.flag_fields(model_flags):
    flag = flag_values[flagdefs.flag_name(field)]
    if flag.present:
      out[field.name] = flag.value
  return out


def flag_names(model_flags=ModelFlags) -> dict:
  """{ModelSpec field: flag name}, for error messages."""
  return {field.name: flagdefs.flag_name(field)
          for field in flagdefs.flag_fields(model_flags)}


def build_options(cls, flag_values=None, model_flags=ModelFlags, **not_flags):
  """A script's Options ``cls`` from the parsed flags: its option fields
  (flagdefs.build), ``checkpoint_path`` and ``master`` (CheckpointFlags) and
  ``model_overrides``; ``not_flags`` sets other fields."""
  flag_values = flags.FLAGS if flag_values is None else flag_values
  shared = dataclasses.asdict(flagdefs.build(CheckpointFlags, flag_values))
  return flagdefs.build(cls, flag_values, **shared,
                        model_overrides=model_overrides(flag_values, model_flags),
                        **not_flags)
