"""model_spec.json: the one contract between a trained model and its users.

Training resolves everything that shapes the net's input or output once and
writes it next to its checkpoints; eval, predict, export, Grad-CAM and a
resumed training run all build their graph from it (``for_inference`` /
``check_resume``), so none of them can prepare images differently from
training. What it holds:

  net            model_name, depth_multiplier, image_size (net input)
  preprocessing  preprocessing_name (resolved: the modality preset chosen from
                 dataset_info.json when --preprocessing_name was not given) and
                 EVERY resolved option (flips, crop, per-image
                 standardization, grayscale, ...), eval-time ones included
  classes        class_names (of the dataset, in label order), multilabel,
                 labels_offset (the net's output i is class i + offset)
  stored pixels  channels, bit_depth and ``imaging``: the conversion's
                 ``datasets/imaging.read_and_prepare`` settings (border crop,
                 resize mode, DICOM window, intensity range) copied from
                 dataset_info.json, so raw files are prepared as the training
                 records were
  precision      mixed_precision of training (inference may choose its own)

An explicit flag that disagrees with the spec is an error naming both values;
a flag left unset takes the spec's value.
"""
import dataclasses
import json
import os
from typing import Any, Dict, List, Optional

from absl import logging

import flagdefs
from flagdefs import option
from nets import nets_factory
from preprocessing import preprocessing_factory

SPEC_FILENAME = "model_spec.json"
FORMAT_VERSION = 1
# TF-Slim's --model_name default: the net of a model described by flags alone.
DEFAULT_MODEL_NAME = "inception_v3"

# Default --preprocessing_name per dataset_info.json modality (None: the
# net's own TF-Slim preprocessing).
MODALITY_PRESETS = {"fundus": "fundus", "oct": "oct", "xray": "xray",
                    "natural": None}


@dataclasses.dataclass
class PreprocessingFlags:
  """The training flags that set a preprocessing option, declared once
  (flagdefs.py; train_image_classifier.py defines them): field = option name,
  None = the preprocessing preset's default."""
  flip: Optional[bool] = option(
      "slim-med: random left-right flips (default per preset: off for xray, "
      "on for fundus/oct/inception).", default=None)
  vertical_flip: Optional[bool] = option("slim-med: random up-down flips.",
                                         default=None)
  rotation_degrees: Optional[float] = option(
      "slim-med: random rotation range (+-deg).", default=None)
  shift_fraction: Optional[float] = option(
      "slim-med: random shift (fraction of size).", default=None)
  brightness_delta: Optional[float] = option(
      "slim-med: random brightness (+-, [0,1] scale).", default=None)
  contrast_range: Optional[List[str]] = option(
      "slim-med: random contrast 'lower,upper'.", default=None)
  per_image_standardization: Optional[bool] = option(
      "slim-med: zero mean / unit variance per image.", default=None)
  grayscale: bool = option("Whether to convert input images to grayscale.",
                           default=False, flag_name="use_grayscale")


# Training flags that set a preprocessing option (option -> flag).
OPTION_FLAGS = {field.name: flagdefs.flag_name(field)
                for field in dataclasses.fields(PreprocessingFlags)}

# Conversion settings whose difference makes a dataset's images unlike the
# training images (``imaging`` keys).
IMAGING_KEYS = ("resize", "crop_black_borders", "grayscale", "ben_graham",
                "channels", "dicom_window", "dicom_fallback", "intensity_range")


@dataclasses.dataclass
class ModelSpec:
  model_name: str
  class_names: List[str]
  image_size: int
  preprocessing_name: str
  preprocessing_options: Dict[str, Any]
  multilabel: bool = False
  labels_offset: int = 0
  depth_multiplier: Optional[float] = None
  channels: int = 3
  bit_depth: int = 8
  imaging: Dict[str, Any] = dataclasses.field(default_factory=dict)
  dataset_name: Optional[str] = None
  modality: Optional[str] = None
  moving_average_decay: Optional[float] = None
  mixed_precision: bool = False
  format_version: int = FORMAT_VERSION

  @property
  def net(self) -> nets_factory.NetSpec:
    return nets_factory.get_spec(self.model_name)

  @property
  def num_outputs(self) -> int:
    return len(self.class_names) - self.labels_offset

  @property
  def output_class_names(self) -> List[str]:
    """Names of the net's outputs, in order."""
    return list(self.class_names[self.labels_offset:])

  @property
  def input_size(self) -> int:
    return int(self.image_size)

  def preprocess_fn(self, is_training: bool = False):
    return preprocessing_factory.get_preprocessing(
        self.preprocessing_name, is_training=is_training,
        **self.preprocessing_options)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_dict(cls, data: Dict) -> "ModelSpec":
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})

  def replace(self, **changes) -> "ModelSpec":
    return dataclasses.replace(self, **changes)


def _jsonable(value):
  return json.loads(json.dumps(value))


def _flag_options(options: Dict) -> Dict:
  out = {}
  for key, value in (options or {}).items():
    if value is None:
      continue
    if key == "contrast_range":
      value = tuple(float(v) for v in value)
    out[key] = value
  return out


def preprocessing_options_from_flags(values: Dict) -> Dict:
  """Training flag values (by flag name) -> preprocessing options."""
  options = {}
  for option, flag in OPTION_FLAGS.items():
    value = values.get(flag)
    if value is None or (option == "grayscale" and not value):
      continue
    options[option] = value
  return _flag_options(options)


def default_preprocessing(model_name: str, info=None) -> str:
  """--preprocessing_name when none is given: the modality preset recorded in
  dataset_info.json, else the net's TF-Slim preprocessing."""
  net = nets_factory.get_spec(model_name)
  modality = getattr(info, "modality", None) if info is not None else None
  preset = MODALITY_PRESETS.get(modality) if modality else None
  if preset:
    logging.info("Preprocessing: the %r preset (dataset_info.json modality %r; "
                 "--preprocessing_name=%s keeps TF-Slim's)", preset, modality,
                 net.preprocessing)
    return preset
  if modality is None and info is not None:
    logging.info("Preprocessing: TF-Slim's %r (dataset_info.json records no "
                 "modality; pass --preprocessing_name=xray|fundus|oct for a "
                 "medical preset)", net.preprocessing)
  else:
    logging.info("Preprocessing: TF-Slim's %r", net.preprocessing)
  return net.preprocessing


def build(model_name: str, info, labels_offset: int = 0,
          depth_multiplier: Optional[float] = None,
          image_size: Optional[int] = None,
          preprocessing_name: Optional[str] = None,
          preprocessing_options: Optional[Dict] = None,
          moving_average_decay: Optional[float] = None,
          mixed_precision: bool = False) -> ModelSpec:
  """Resolves a spec from (training) settings and a DatasetInfo: every value
  left unset gets the default it will have in the graph."""
  net = nets_factory.get_spec(model_name)   # one-line error for a bad name
  labels_offset = int(labels_offset or 0)
  class_names = [str(c) for c in info.class_names]
  if labels_offset and info.multilabel:
    raise ValueError("--labels_offset applies to multi-class data only; %s is "
                     "multi-label" % info.name)
  if labels_offset < 0 or labels_offset >= len(class_names):
    raise ValueError("--labels_offset=%d leaves no class of the %d in %s"
                     % (labels_offset, len(class_names), info.name))
  if depth_multiplier is not None and not net.supports_depth_multiplier \
      and float(depth_multiplier) != 1.0:
    raise ValueError("--depth_multiplier applies to inception_v2/v3 only, not "
                     "--model_name=%s" % model_name)
  if net.supports_depth_multiplier:
    depth_multiplier = float(depth_multiplier if depth_multiplier is not None
                             else 1.0)
  else:
    depth_multiplier = None
  name = preprocessing_name or default_preprocessing(model_name, info)
  options = preprocessing_factory.resolve_options(
      name, _flag_options(preprocessing_options))
  imaging = dict(getattr(info, "preprocessing", None) or {})
  return ModelSpec(
      model_name=model_name, class_names=class_names,
      image_size=int(image_size or net.default_image_size),
      preprocessing_name=name, preprocessing_options=_jsonable(options),
      multilabel=bool(info.multilabel), labels_offset=labels_offset,
      depth_multiplier=depth_multiplier, channels=int(info.channels),
      bit_depth=int(info.bit_depth), imaging=_jsonable(imaging),
      dataset_name=info.name, modality=getattr(info, "modality", None),
      moving_average_decay=moving_average_decay,
      mixed_precision=bool(mixed_precision))


def from_training_flags(values: Dict, info) -> ModelSpec:
  """The spec a training run with these flags (flags.json) had: for train
  dirs written before model_spec.json existed."""
  return build(values.get("model_name") or DEFAULT_MODEL_NAME, info,
               labels_offset=values.get("labels_offset") or 0,
               depth_multiplier=values.get("depth_multiplier"),
               image_size=values.get("train_image_size"),
               preprocessing_name=values.get("preprocessing_name"),
               preprocessing_options=preprocessing_options_from_flags(values),
               moving_average_decay=values.get("moving_average_decay"),
               mixed_precision=bool(values.get("mixed_precision")))


# ------------------------------------------------------------------- files
def _gfile():
  from tf_compat import tf
  return tf.io.gfile


def spec_path(directory: str) -> str:
  return os.path.join(directory, SPEC_FILENAME)


def write(spec: ModelSpec, directory: str) -> str:
  gfile = _gfile()
  gfile.makedirs(directory)
  path = spec_path(directory)
  tmp = path + ".tmp"
  with gfile.GFile(tmp, "w") as f:
    f.write(spec.to_json() + "\n")
  gfile.rename(tmp, path, overwrite=True)
  return path


def read(directory: str) -> Optional[ModelSpec]:
  """The spec in ``directory`` (None when there is none)."""
  gfile = _gfile()
  path = spec_path(directory)
  if not gfile.exists(path):
    return None
  try:
    with gfile.GFile(path, "r") as f:
      return ModelSpec.from_dict(json.load(f))
  except (ValueError, TypeError) as err:
    raise ValueError("%s is unreadable (%s); it describes the trained model: "
                     "restore it from the train_dir" % (path, err)) from None


def _read_json(path: str) -> Optional[Dict]:
  gfile = _gfile()
  if not gfile.exists(path):
    return None
  with gfile.GFile(path, "r") as f:
    data = json.load(f)
  return data.get("flags", data) if isinstance(data, dict) else None


def _read_info(directory: str):
  from datasets import dataset_info as info_lib
  if _gfile().exists(os.path.join(directory, info_lib.INFO_FILENAME)):
    return info_lib.read(directory)
  return None


# --------------------------------------------------------------- consumers
def _same(a, b) -> bool:
  if isinstance(a, float) or isinstance(b, float):
    try:
      return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
      return False
  return _jsonable(a) == _jsonable(b)


def apply_overrides(spec: ModelSpec, overrides: Dict[str, Any], where: str,
                    flag_names: Optional[Dict[str, str]] = None) -> ModelSpec:
  """Explicit inference flags: one that disagrees with the spec is an error;
  ``moving_average_decay`` and ``mixed_precision`` are inference choices."""
  flag_names = dict({"image_size": "eval_image_size"}, **(flag_names or {}))
  changes = {}
  for key, value in overrides.items():
    if value is None:
      continue
    if key in ("moving_average_decay", "mixed_precision"):
      changes[key] = value
      continue
    current = getattr(spec, key)
    if key == "preprocessing_name":
      same = (preprocessing_factory.style_of(value)
              == preprocessing_factory.style_of(current))
    elif key == "depth_multiplier" and current is None:
      same = float(value) == 1.0
    else:
      same = _same(value, current)
    if not same:
      raise ValueError(
          "--%s=%s but the model was trained with %s (%s); drop the flag or "
          "use a checkpoint trained that way"
          % (flag_names.get(key, key), value, current, where))
  return spec.replace(**changes) if changes else spec


def check_dataset(spec: ModelSpec, info, where: str) -> None:
  """A dataset used with a model must hold the classes the model was trained
  on, prepared the way its training data were."""
  names = [str(c) for c in info.class_names]
  if names != list(spec.class_names) or bool(info.multilabel) != spec.multilabel:
    raise ValueError(
        "--dataset_dir: %s has classes %s but the model (%s) was trained on %s"
        % (info.name, ", ".join(names), where, ", ".join(spec.class_names)))
  if not spec.imaging:
    return
  imaging = dict(info.preprocessing or {})
  for key in IMAGING_KEYS:
    if key.startswith("dicom_") and getattr(info, "source_layout", "") != "dicom":
      continue   # settings that only act on DICOM files
    if key in spec.imaging or key in imaging:
      mine, theirs = spec.imaging.get(key), imaging.get(key)
      if not _same(mine, theirs):
        raise ValueError(
            "--dataset_dir: %s was converted with %s=%s but the model (%s) was "
            "trained on data converted with %s=%s; convert it with the "
            "training settings" % (info.name, key, theirs, where, key, mine))
  if not _same(spec.imaging.get("image_size"), imaging.get("image_size")):
    logging.warning("%s stores %s px images; the model's training data had %s px "
                    "(both are resized to the net's %d px)", info.name,
                    imaging.get("image_size"), spec.imaging.get("image_size"),
                    spec.image_size)


def for_inference(checkpoint_path: str, overrides: Optional[Dict] = None,
                  info=None, flag_names: Optional[Dict[str, str]] = None
                  ) -> ModelSpec:
  """THE way eval, predict, export and Grad-CAM learn what the model is.

  ``overrides`` holds only the flags the user gave (model_name,
  depth_multiplier, image_size, preprocessing_name, labels_offset,
  moving_average_decay, mixed_precision); ``info`` the DatasetInfo of
  --dataset_dir when one was given (checked against the spec).
  Order: model_spec.json next to the checkpoint; else a train_dir from before
  the spec (its flags.json and dataset_info.json, resolved by the same
  ``build`` training uses); else the flags alone (a checkpoint made elsewhere).
  """
  overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
  from nets import checkpoints   # TensorFlow; this module imports without it
  directory = checkpoints.checkpoint_dir(checkpoint_path)
  spec = read(directory)
  if spec is not None:
    where = spec_path(directory)
  else:
    flags = _read_json(os.path.join(directory, "flags.json"))
    train_info = _read_info(directory) or info
    if train_info is None:
      raise ValueError(
          "--checkpoint_path: %s has no %s (nor a dataset_info.json); pass "
          "--dataset_dir=<the converted dataset> so classes and image settings "
          "are known" % (directory, SPEC_FILENAME))
    if flags:
      where = "flags.json in %s" % directory
      logging.warning("%s has no %s (trained by an older slim-med): rebuilding "
                      "it from flags.json", directory, SPEC_FILENAME)
      spec = from_training_flags(flags, train_info)
    else:
      where = "your flags; %s has no %s" % (directory, SPEC_FILENAME)
      logging.warning("%s has no %s: the model is described by your flags "
                      "only; check they match its training", directory,
                      SPEC_FILENAME)
      return build(overrides.pop("model_name", DEFAULT_MODEL_NAME), train_info,
                   **{k: v for k, v in overrides.items()})
  spec = apply_overrides(spec, overrides, where, flag_names)
  if info is not None:
    check_dataset(spec, info, where)
  return spec


# Training flags that shape the graph, by spec field.
RESUME_FLAGS = {"model_name": "model_name", "depth_multiplier": "depth_multiplier",
                "image_size": "train_image_size",
                "preprocessing_name": "preprocessing_name",
                "labels_offset": "labels_offset"}


def check_resume(spec: ModelSpec, train_dir: str) -> None:
  """A run resuming in ``train_dir`` must build the same graph as the run
  that wrote it. Raises ValueError naming the first flag that differs."""
  previous = read(train_dir)
  where = spec_path(train_dir)
  if previous is None:
    flags = _read_json(os.path.join(train_dir, "flags.json"))
    info = _read_info(train_dir)
    if not flags or info is None:
      return
    previous = from_training_flags(flags, info)
    where = "flags.json in %s" % train_dir
  for key, flag in RESUME_FLAGS.items():
    before, now = getattr(previous, key), getattr(spec, key)
    if not _same(before, now):
      raise ValueError(
          "--%s=%s but %s was trained with %s (%s); a resumed run must keep "
          "it: use a new --train_dir to train a different model"
          % (flag, now, train_dir, before, where))
  for option in sorted(set(previous.preprocessing_options)
                       | set(spec.preprocessing_options)):
    before = previous.preprocessing_options.get(option)
    now = spec.preprocessing_options.get(option)
    if not _same(before, now):
      flag = OPTION_FLAGS.get(option)
      named = ("--%s=%s" % (flag, now) if flag else
               "preprocessing option %s=%s (--preprocessing_name=%s)"
               % (option, now, spec.preprocessing_name))
      raise ValueError("%s but %s was trained with %s (%s); a resumed run must "
                       "keep it: use a new --train_dir" % (named, train_dir,
                                                          before, where))
  if previous.class_names != spec.class_names or \
      previous.multilabel != spec.multilabel:
    raise ValueError("--dataset_dir: classes %s differ from the %s that %s was "
                     "trained on (%s); use a new --train_dir"
                     % (", ".join(spec.class_names),
                        ", ".join(previous.class_names), train_dir, where))
  for key in IMAGING_KEYS:
    before, now = previous.imaging.get(key), spec.imaging.get(key)
    if previous.imaging and not _same(before, now):
      raise ValueError("--dataset_dir: converted with %s=%s but %s was trained "
                       "on data with %s=%s (%s); use a new --train_dir"
                       % (key, now, train_dir, key, before, where))
