"""VGG / ResNet-v1 style preprocessing (TF-Slim's 'vgg').

train: resize the shorter side to a random length in [S_min, S_max] -> random
       crop -> flips / rotation / brightness options -> subtract the ImageNet
       RGB means (pixels in 0..255).
eval:  resize the shorter side to S_min -> central crop -> subtract the means.

TF-Slim fixes S_min=256, S_max=512 for 224-pixel crops; here both scale with
the output size (256/224 and 512/224 of it), which is identical at 224.
"""
from tf_compat import tf

from preprocessing import augment

MEANS = (123.68, 116.78, 103.94)

OPTIONS = {
    "flip": "random left-right flip (training)",
    "vertical_flip": "random up-down flip (training)",
    "rotation_degrees": "random rotation in [-d, d] degrees (training)",
    "shift_fraction": "random shift up to this fraction of the size (training)",
    "fill_mode": "CONSTANT or NEAREST",
    "brightness_delta": "random brightness offset on [0,1] pixels",
    "contrast_range": "(lower, upper) random contrast factor",
    "per_image_standardization": "zero mean / unit variance instead of mean subtraction",
    "grayscale": "convert colour images to grayscale (then 3 equal channels)",
}
DEFAULTS = dict(flip=True, vertical_flip=False, rotation_degrees=0.0,
                shift_fraction=0.0, fill_mode="CONSTANT", brightness_delta=0.0,
                contrast_range=None, per_image_standardization=False,
                grayscale=False)


def _resize_shorter_side(image, side):
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float32)
  width = tf.cast(shape[1], tf.float32)
  side = tf.cast(side, tf.float32)
  scale = side / tf.minimum(height, width)
  new_h = tf.cast(tf.math.ceil(height * scale), tf.int32)
  new_w = tf.cast(tf.math.ceil(width * scale), tf.int32)
  out = tf.image.resize(image[tf.newaxis], tf.stack([new_h, new_w]))[0]
  out.set_shape([None, None, image.shape[-1]])
  return out


def _finish(image, opts):
  if opts["per_image_standardization"]:
    return tf.image.per_image_standardization(image)
  return image * 255.0 - tf.constant(MEANS, tf.float32)


def resolve_options(options):
  """DEFAULTS updated with ``options`` (None values keep the default)."""
  unknown = sorted(set(options) - set(OPTIONS))
  if unknown:
    raise ValueError("Unknown option(s) %s for vgg preprocessing; valid: %s"
                     % (", ".join(unknown), ", ".join(sorted(OPTIONS))))
  opts = dict(DEFAULTS)
  opts.update({k: v for k, v in options.items() if v is not None})
  return opts


def make_fn(is_training, **options):
  opts = resolve_options(options)

  def preprocess(image, output_height, output_width):
    image = tf.convert_to_tensor(image, tf.float32)
    image = (augment.to_grayscale_rgb(image) if opts["grayscale"]
             else augment.to_rgb(image))
    side_min = int(round(min(output_height, output_width) * 256.0 / 224.0))
    side_max = int(round(min(output_height, output_width) * 512.0 / 224.0))
    if is_training:
      side = tf.random.uniform([], side_min, side_max + 1, dtype=tf.int32)
      image = _resize_shorter_side(image, side)
      image = tf.image.random_crop(image, [output_height, output_width, 3])
      image = augment.random_flip(image, opts["flip"], opts["vertical_flip"])
      image = augment.random_rotate_shift(image, opts["rotation_degrees"],
                                          opts["shift_fraction"], opts["fill_mode"])
      image = augment.random_brightness_contrast(image, opts["brightness_delta"],
                                                 opts["contrast_range"])
    else:
      image = _resize_shorter_side(image, side_min)
      image = tf.image.resize_with_crop_or_pad(image, output_height, output_width)
    image = _finish(image, opts)
    image.set_shape([output_height, output_width, 3])
    return image

  preprocess.options = opts
  preprocess.style = "vgg"
  return preprocess
