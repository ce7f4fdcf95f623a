"""nets/model_spec.py: what training resolves once, and how consumers and
resumed runs are held to it (no TensorFlow graph is built here)."""
import json

import pytest

from datasets import dataset_info
from nets import model_spec


def _info(modality=None, channels=3, classes=("normal", "opacity"), **imaging):
  prep = {"image_size": 64, "resize": "pad", "crop_black_borders": None,
          "grayscale": False, "channels": channels}
  prep.update(imaging)
  info = dataset_info.DatasetInfo(
      name="films", class_names=list(classes),
      splits={"train": dataset_info.SplitInfo(4, 1, [2, 2])}, channels=channels,
      image_size=64, preprocessing=prep)
  info.modality = modality
  return info


@pytest.mark.parametrize("modality,expected", [
    ("fundus", "fundus"), ("oct", "oct"), ("xray", "xray"),
    ("natural", "inception"), (None, "inception")])
def test_default_preset_follows_the_recorded_modality(modality, expected):
  spec = model_spec.build("inception_v3", _info(modality))
  assert spec.preprocessing_name == expected
  # every option resolved, eval-time ones included
  assert spec.preprocessing_options["central_fraction"] == (
      0.875 if expected == "inception" else 1.0)


def test_explicit_preprocessing_name_keeps_tf_slim_behaviour():
  spec = model_spec.build("inception_v3", _info("xray"),
                          preprocessing_name="inception")
  assert spec.preprocessing_name == "inception"
  assert spec.preprocessing_options["random_crop_area"] == [0.05, 1.0]


def test_build_resolves_defaults_and_flag_options():
  spec = model_spec.build(
      "inception_v3", _info(), depth_multiplier=0.5,
      preprocessing_options=model_spec.preprocessing_options_from_flags(
          {"per_image_standardization": True, "use_grayscale": True,
           "contrast_range": ["0.9", "1.1"], "flip": None}))
  assert (spec.image_size, spec.depth_multiplier) == (299, 0.5)
  assert spec.preprocessing_options["per_image_standardization"] is True
  assert spec.preprocessing_options["grayscale"] is True
  assert spec.preprocessing_options["contrast_range"] == [0.9, 1.1]
  assert spec.imaging["resize"] == "pad" and spec.output_class_names == [
      "normal", "opacity"]
  vgg = model_spec.build("vgg_16", _info())
  assert vgg.depth_multiplier is None and vgg.preprocessing_name == "vgg"
  with pytest.raises(ValueError, match="--depth_multiplier"):
    model_spec.build("vgg_16", _info(), depth_multiplier=0.5)


def test_spec_round_trips_through_its_file(tmp_path):
  spec = model_spec.build("inception_v3", _info("xray"), image_size=128,
                          preprocessing_options={"per_image_standardization": True})
  model_spec.write(spec, str(tmp_path))
  assert model_spec.read(str(tmp_path)) == spec
  assert json.load(open(tmp_path / "model_spec.json"))["image_size"] == 128


@pytest.fixture
def train_dir(tmp_path):
  spec = model_spec.build("inception_v3", _info("xray"), image_size=128,
                          depth_multiplier=0.25,
                          preprocessing_options={"per_image_standardization": True})
  model_spec.write(spec, str(tmp_path))
  return tmp_path, spec


def test_unset_inference_flags_take_the_spec(train_dir):
  directory, spec = train_dir
  assert model_spec.for_inference(str(directory), {}) == spec
  # explicit flags that agree are fine; inference choices are taken
  got = model_spec.for_inference(str(directory / "model.ckpt-5"), {
      "model_name": "inception_v3", "image_size": 128, "depth_multiplier": 0.25,
      "preprocessing_name": "xray", "moving_average_decay": 0.99})
  assert got.moving_average_decay == 0.99 and got.image_size == 128


@pytest.mark.parametrize("overrides,flag", [
    ({"image_size": 299}, "--eval_image_size=299"),
    ({"depth_multiplier": 1.0}, "--depth_multiplier=1.0"),
    ({"preprocessing_name": "inception"}, "--preprocessing_name=inception"),
    ({"model_name": "inception_v2"}, "--model_name=inception_v2"),
    ({"labels_offset": 1}, "--labels_offset=1")])
def test_explicit_flag_that_disagrees_is_an_error(train_dir, overrides, flag):
  directory, _ = train_dir
  with pytest.raises(ValueError) as err:
    model_spec.for_inference(str(directory), overrides)
  message = str(err.value)
  assert message.startswith(flag) and "model_spec.json" in message
  assert "\n" not in message


def test_export_names_its_own_size_flag(train_dir):
  directory, _ = train_dir
  with pytest.raises(ValueError, match=r"^--image_size=64"):
    model_spec.for_inference(str(directory), {"image_size": 64},
                             flag_names={"image_size": "image_size"})


def test_dataset_must_match_the_model(train_dir):
  directory, _ = train_dir
  with pytest.raises(ValueError, match="--dataset_dir.*classes"):
    model_spec.for_inference(str(directory), {},
                             info=_info(classes=("abnormal", "normal")))
  with pytest.raises(ValueError, match="resize=stretch.*resize=pad"):
    model_spec.for_inference(str(directory), {}, info=_info(resize="stretch"))
  model_spec.for_inference(str(directory), {}, info=_info())   # same: fine


def test_train_dir_from_before_the_spec_is_rebuilt_from_flags_json(tmp_path):
  flags = {"model_name": "inception_v3", "train_image_size": 128,
           "depth_multiplier": 0.25, "per_image_standardization": True,
           "use_grayscale": False, "preprocessing_name": None}
  (tmp_path / "flags.json").write_text(json.dumps(flags))
  dataset_info.write(_info(), str(tmp_path))
  spec = model_spec.for_inference(str(tmp_path), {})
  assert spec == model_spec.from_training_flags(flags, _info())
  assert spec.preprocessing_options["per_image_standardization"] is True
  assert spec.image_size == 128


def test_checkpoint_without_spec_or_flags_needs_a_dataset(tmp_path):
  with pytest.raises(ValueError, match="--dataset_dir"):
    model_spec.for_inference(str(tmp_path), {})
  spec = model_spec.for_inference(str(tmp_path), {"image_size": 96},
                                  info=_info())
  assert spec.image_size == 96 and spec.preprocessing_name == "inception"


@pytest.mark.parametrize("changes,flag", [
    (dict(image_size=299), "--train_image_size=299"),
    (dict(depth_multiplier=0.5), "--depth_multiplier=0.5"),
    (dict(model_name="inception_v2"), "--model_name=inception_v2"),
    (dict(preprocessing_options={"per_image_standardization": False}),
     "--per_image_standardization=False"),
    (dict(preprocessing_options={"per_image_standardization": True,
                                 "grayscale": True}), "--use_grayscale=True"),
    (dict(preprocessing_name="inception"), "--preprocessing_name=inception")])
def test_resume_refuses_a_graph_shaping_change(train_dir, changes, flag):
  directory, _ = train_dir
  settings = dict(model_name="inception_v3", image_size=128, depth_multiplier=0.25,
                  preprocessing_options={"per_image_standardization": True})
  settings.update(changes)
  name = settings.pop("model_name")
  if name != "inception_v3":
    settings.pop("depth_multiplier")
    settings["depth_multiplier"] = 0.25
  new = model_spec.build(name, _info("xray"), **settings)
  with pytest.raises(ValueError) as err:
    model_spec.check_resume(new, str(directory))
  assert str(err.value).startswith(flag), str(err.value)
  assert "new --train_dir" in str(err.value)


def test_resume_with_the_same_settings_passes(train_dir):
  directory, spec = train_dir
  model_spec.check_resume(spec, str(directory))
  other_classes = model_spec.build("inception_v3", _info("xray", classes=("a", "b")),
                                   image_size=128, depth_multiplier=0.25,
                                   preprocessing_options={
                                       "per_image_standardization": True})
  with pytest.raises(ValueError, match="^--dataset_dir: classes a, b"):
    model_spec.check_resume(other_classes, str(directory))
