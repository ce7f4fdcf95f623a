"""Image operations shared by every preprocessing style.

All functions take and return float32 HxWxC images in [0, 1] unless they say
otherwise; randomness comes from ``tf.random`` ops so a graph-level seed makes
a run repeatable.
"""
import math

from tf_compat import tf


def to_rgb(image):
  """Grayscale (C=1) -> 3 channels by replication; 3 channels unchanged.

  ImageNet-pretrained nets expect 3 channels; replicating the film keeps the
  pixel values (no colour is invented).
  """
  channels = image.shape[-1]
  if channels == 3:
    return image
  if channels == 1:
    return tf.tile(image, [1, 1, 3])
  if channels is None:
    image = tf.cond(tf.equal(tf.shape(image)[-1], 1),
                    lambda: tf.tile(image, [1, 1, 3]), lambda: image)
    image.set_shape([None, None, 3])
    return image
  raise ValueError("Images must have 1 or 3 channels, got %s" % channels)


def to_grayscale_rgb(image):
  """RGB -> luminance replicated to 3 channels (TF-Slim's --use_grayscale)."""
  if image.shape[-1] == 3:
    image = tf.image.rgb_to_grayscale(image)
  return to_rgb(image)


def random_flip(image, horizontal=True, vertical=False):
  if horizontal:
    image = tf.image.random_flip_left_right(image)
  if vertical:
    image = tf.image.random_flip_up_down(image)
  return image


def random_rotate_shift(image, rotation_degrees=0.0, shift_fraction=0.0,
                        fill_mode="CONSTANT"):
  """Rotates by U(-deg, deg) about the centre and shifts by U(-f, f) * size.

  Uses TensorFlow's projective-transform kernel; pixels coming from outside
  the image are black (``CONSTANT``) or the nearest edge (``NEAREST``).
  """
  if not rotation_degrees and not shift_fraction:
    return image
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float32)
  width = tf.cast(shape[1], tf.float32)
  angle = tf.random.uniform([], -1.0, 1.0) * (rotation_degrees * math.pi / 180.0)
  dx = tf.random.uniform([], -1.0, 1.0) * shift_fraction * width
  dy = tf.random.uniform([], -1.0, 1.0) * shift_fraction * height
  cx = (width - 1.0) / 2.0
  cy = (height - 1.0) / 2.0
  cos, sin = tf.cos(angle), tf.sin(angle)
  # Output pixel (x, y) samples input R^-1 ((x, y) - c - d) + c.
  ox, oy = cx + dx, cy + dy
  transform = tf.stack([
      cos, sin, cx - cos * ox - sin * oy,
      -sin, cos, cy + sin * ox - cos * oy,
      0.0, 0.0])
  out = tf.raw_ops.ImageProjectiveTransformV3(
      images=image[tf.newaxis], transforms=transform[tf.newaxis],
      output_shape=shape[:2], fill_value=0.0, interpolation="BILINEAR",
      fill_mode=fill_mode)[0]
  out.set_shape(image.shape)
  return out


def random_brightness_contrast(image, brightness_delta=0.0, contrast_range=None):
  """Adds U(-delta, delta) and scales contrast by U(lo, hi); clips to [0, 1]."""
  if brightness_delta:
    image = tf.image.random_brightness(image, brightness_delta)
  if contrast_range:
    lower, upper = contrast_range
    if lower != 1.0 or upper != 1.0:
      image = tf.image.random_contrast(image, lower, upper)
  return tf.clip_by_value(image, 0.0, 1.0)


def random_colour(image, saturation_range=None, hue_delta=0.0):
  """Saturation / hue jitter: for colour photographs only, never films."""
  if saturation_range:
    image = tf.image.random_saturation(image, *saturation_range)
  if hue_delta:
    image = tf.image.random_hue(image, hue_delta)
  return tf.clip_by_value(image, 0.0, 1.0)


def central_crop(image, fraction):
  if fraction is None or fraction >= 1.0:
    return image
  return tf.image.central_crop(image, central_fraction=fraction)


def resize(image, height, width):
  out = tf.image.resize(image[tf.newaxis], [height, width],
                        method=tf.image.ResizeMethod.BILINEAR,
                        antialias=False)[0]
  out.set_shape([height, width, image.shape[-1]])
  return out


def distorted_crop(image, min_object_covered=0.1,
                   aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0),
                   max_attempts=100):
  """Inception's random crop: a box covering ``area_range`` of the image."""
  bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
  begin, size, _ = tf.image.sample_distorted_bounding_box(
      tf.shape(image), bounding_boxes=bbox,
      min_object_covered=min_object_covered,
      aspect_ratio_range=aspect_ratio_range, area_range=area_range,
      max_attempts=max_attempts, use_image_if_no_bounding_boxes=True)
  crop = tf.slice(image, begin, size)
  crop.set_shape([None, None, image.shape[-1]])
  return crop


def to_net_range(image, per_image_standardization=False):
  """[0, 1] -> Inception's [-1, 1], or zero mean / unit variance per image."""
  if per_image_standardization:
    return tf.image.per_image_standardization(image)
  return (image - 0.5) * 2.0
