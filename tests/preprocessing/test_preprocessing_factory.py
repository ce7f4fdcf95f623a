"""The preprocessing contract: [0,1] HxWxC (C=1|3) in -> net-range [H,W,3] out."""
import numpy as np
import pytest

from tf_compat import tf
from preprocessing import preprocessing_factory


def _run(fn, image, height=40, width=48, seed=1):
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(seed)
    out = fn(tf.constant(image), height, width)
    assert out.shape.as_list() == [height, width, 3]
    with tf.compat.v1.Session() as sess:
      return sess.run(out)


def _gradient_image(channels=1, size=(30, 60)):
  """Left half dark, right half bright: flips are visible."""
  h, w = size
  image = np.zeros((h, w, channels), np.float32)
  image[:, w // 2:, :] = 1.0
  return image


@pytest.mark.parametrize("name", ["inception", "inception_v3", "vgg", "resnet_v1_50",
                                  "xray", "fundus", "oct"])
@pytest.mark.parametrize("is_training", [True, False])
@pytest.mark.parametrize("channels", [1, 3])
def test_shape_and_range(name, is_training, channels):
  fn = preprocessing_factory.get_preprocessing(name, is_training)
  rng = np.random.RandomState(0)
  out = _run(fn, rng.uniform(size=(50, 70, channels)).astype(np.float32))
  assert out.dtype == np.float32 and np.all(np.isfinite(out))
  if preprocessing_factory.PREPROCESSING_STYLES[name] == "vgg":
    assert out.min() >= -124.0 and out.max() <= 255.0 - 103.0
  else:
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_grayscale_is_replicated_to_three_equal_channels():
  fn = preprocessing_factory.get_preprocessing("xray", is_training=False)
  rng = np.random.RandomState(0)
  out = _run(fn, rng.uniform(size=(40, 48, 1)).astype(np.float32))
  np.testing.assert_array_equal(out[..., 0], out[..., 1])
  np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_eval_inception_is_central_crop_and_medical_is_whole_image():
  image = np.zeros((80, 80, 1), np.float32)
  image[:5, :, :] = 1.0  # a bright top border: the periphery
  inception = _run(preprocessing_factory.get_preprocessing("inception", False),
                   image, 80, 80)
  fundus = _run(preprocessing_factory.get_preprocessing("fundus", False), image, 80, 80)
  assert inception[:3].max() == pytest.approx(-1.0)  # border cropped away
  assert fundus[:3].min() == pytest.approx(1.0)      # border kept


def test_eval_preprocessing_is_deterministic_and_exact():
  image = np.random.RandomState(3).uniform(size=(40, 48, 3)).astype(np.float32)
  fn = preprocessing_factory.get_preprocessing("oct", is_training=False)
  out = _run(fn, image, 40, 48)
  np.testing.assert_allclose(out, (image - 0.5) * 2.0, atol=1e-6)


def _flip_rate(name, trials=24, **options):
  fn = preprocessing_factory.get_preprocessing(name, is_training=True, **options)
  image = _gradient_image()
  flipped = 0
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(0)
    out = fn(tf.constant(image), 30, 60)
    with tf.compat.v1.Session() as sess:
      for _ in range(trials):
        value = sess.run(out)[..., 0]
        flipped += value[:, :20].mean() > value[:, 40:].mean()
  return flipped / trials


def test_xray_never_flips_fundus_does():
  assert _flip_rate("xray", rotation_degrees=0, shift_fraction=0) == 0.0
  assert 0.1 < _flip_rate("fundus", vertical_flip=False, rotation_degrees=0) < 0.9


def test_flip_option_overrides_preset():
  assert _flip_rate("oct", flip=False) == 0.0
  assert _flip_rate("xray", flip=True) > 0.1


def test_no_colour_jitter_on_grayscale_and_options_reach_the_ops():
  # Grayscale through the xray preset stays grayscale (no hue/saturation).
  fn = preprocessing_factory.get_preprocessing("xray", is_training=True)
  out = _run(fn, np.random.RandomState(0).uniform(size=(40, 40, 1)).astype(np.float32))
  np.testing.assert_array_equal(out[..., 0], out[..., 2])
  # Rotation actually moves pixels; zero augmentation leaves the image alone.
  image = _gradient_image(size=(40, 40))
  still = preprocessing_factory.get_preprocessing(
      "xray", True, rotation_degrees=0, shift_fraction=0, brightness_delta=0,
      contrast_range=(1.0, 1.0))
  np.testing.assert_allclose(_run(still, image, 40, 40)[..., 0],
                             (image[..., 0] - 0.5) * 2, atol=1e-6)
  rotated = preprocessing_factory.get_preprocessing(
      "xray", True, rotation_degrees=90, shift_fraction=0, brightness_delta=0,
      contrast_range=(1.0, 1.0), fill_mode="CONSTANT")
  assert np.abs(_run(rotated, image, 40, 40)[..., 0] - (image[..., 0] - 0.5) * 2).max() > 0.5


def test_per_image_standardization():
  fn = preprocessing_factory.get_preprocessing("oct", False, per_image_standardization=True)
  out = _run(fn, np.random.RandomState(0).uniform(size=(40, 40, 1)).astype(np.float32))
  assert abs(out.mean()) < 1e-4 and out.std() == pytest.approx(1.0, abs=1e-3)


def test_unknown_name_and_option_are_errors():
  with pytest.raises(ValueError, match="preprocessing_name"):
    preprocessing_factory.get_preprocessing("nope", True)
  with pytest.raises(ValueError, match="flipp"):
    preprocessing_factory.get_preprocessing("xray", True, flipp=True)


@pytest.mark.parametrize("name", ["inception", "vgg"])
def test_grayscale_option_makes_colour_images_gray(name):
  image = np.random.RandomState(0).uniform(size=(40, 40, 3)).astype(np.float32)
  out = _run(preprocessing_factory.get_preprocessing(name, False, grayscale=True),
             image, 40, 40)
  if name == "vgg":  # per-channel means differ; the gray values do not
    out = out + np.array([123.68, 116.78, 103.94], np.float32)
  np.testing.assert_allclose(out[..., 0], out[..., 2], atol=1e-4)
  colour = _run(preprocessing_factory.get_preprocessing(name, False), image, 40, 40)
  assert np.abs(colour[..., 0] - colour[..., 2]).max() > 0.1
