"""Inception-style preprocessing and the medical presets built on it.

One configurable pipeline; a *style* is a set of defaults:

train: [random crop covering ``random_crop_area`` of the image] -> resize ->
       flips -> rotation/shift -> brightness/contrast -> saturation/hue (colour
       images only) -> net range
eval:  central crop of ``central_fraction`` -> resize -> net range

Net range is Inception's [-1, 1], or zero mean / unit variance per image with
``per_image_standardization=True``.
"""
from tf_compat import tf

from preprocessing import augment

# Option name -> meaning. Every style accepts every option.
OPTIONS = {
    "flip": "random left-right flip (training)",
    "vertical_flip": "random up-down flip (training)",
    "rotation_degrees": "random rotation in [-d, d] degrees (training)",
    "shift_fraction": "random shift up to this fraction of the size (training)",
    "fill_mode": "CONSTANT (black) or NEAREST for pixels rotated in",
    "brightness_delta": "random brightness offset in [-d, d] on [0,1] pixels",
    "contrast_range": "(lower, upper) random contrast factor",
    "saturation_range": "(lower, upper) random saturation (colour images only)",
    "hue_delta": "random hue shift (colour images only)",
    "random_crop_area": "(min, max) area of Inception's random crop, None = no crop",
    "central_fraction": "eval central crop fraction (TF-Slim uses 0.875)",
    "per_image_standardization": "zero mean / unit variance instead of [-1, 1]",
    "grayscale": "convert colour images to grayscale (then 3 equal channels)",
}

STYLES = {
    # TF-Slim's Inception preprocessing for natural photographs.
    "inception": dict(flip=True, vertical_flip=False, rotation_degrees=0.0,
                      shift_fraction=0.0, fill_mode="CONSTANT",
                      brightness_delta=32.0 / 255.0, contrast_range=(0.5, 1.5),
                      saturation_range=(0.5, 1.5), hue_delta=0.2,
                      random_crop_area=(0.05, 1.0), central_fraction=0.875,
                      per_image_standardization=False, grayscale=False),
    # Chest films: the heart is on the left, so no flips; grayscale, so no
    # colour jitter; no central crop (costophrenic angles live at the edges).
    "xray": dict(flip=False, vertical_flip=False, rotation_degrees=5.0,
                 shift_fraction=0.05, fill_mode="NEAREST", brightness_delta=0.1,
                 contrast_range=(0.8, 1.2), saturation_range=None, hue_delta=0.0,
                 random_crop_area=None, central_fraction=1.0,
                 per_image_standardization=False, grayscale=False),
    # Fundus photographs: orientation carries no label, so flips and larger
    # rotations; the periphery holds lesions, so no central crop; the black
    # border is the natural fill.
    "fundus": dict(flip=True, vertical_flip=True, rotation_degrees=20.0,
                   shift_fraction=0.03, fill_mode="CONSTANT", brightness_delta=0.1,
                   contrast_range=(0.8, 1.2), saturation_range=None, hue_delta=0.0,
                   random_crop_area=None, central_fraction=1.0,
                   per_image_standardization=False, grayscale=False),
    # OCT B-scans: left-right flips are anatomically harmless; layers are
    # horizontal, so only small rotations; grayscale.
    "oct": dict(flip=True, vertical_flip=False, rotation_degrees=5.0,
                shift_fraction=0.05, fill_mode="NEAREST", brightness_delta=0.1,
                contrast_range=(0.8, 1.2), saturation_range=None, hue_delta=0.0,
                random_crop_area=None, central_fraction=1.0,
                per_image_standardization=False, grayscale=False),
}


def resolve_options(style, options):
  """Style defaults updated with ``options`` (None values keep the default)."""
  if style not in STYLES:
    raise ValueError("Unknown preprocessing style %r" % style)
  unknown = sorted(set(options) - set(OPTIONS))
  if unknown:
    raise ValueError("Unknown preprocessing option(s) %s; valid: %s"
                     % (", ".join(unknown), ", ".join(sorted(OPTIONS))))
  resolved = dict(STYLES[style])
  resolved.update({k: v for k, v in options.items() if v is not None})
  return resolved


def _rgb(image, opts):
  if opts["grayscale"]:
    return augment.to_grayscale_rgb(image)
  return augment.to_rgb(image)


def preprocess_for_train(image, height, width, opts):
  is_colour = image.shape[-1] == 3 and not opts["grayscale"]
  image = _rgb(image, opts)
  if opts["random_crop_area"]:
    image = augment.distorted_crop(image, area_range=tuple(opts["random_crop_area"]))
  image = augment.resize(image, height, width)
  image = augment.random_flip(image, opts["flip"], opts["vertical_flip"])
  image = augment.random_rotate_shift(image, opts["rotation_degrees"],
                                      opts["shift_fraction"], opts["fill_mode"])
  image = augment.random_brightness_contrast(image, opts["brightness_delta"],
                                             opts["contrast_range"])
  if is_colour:
    image = augment.random_colour(image, opts["saturation_range"], opts["hue_delta"])
  return augment.to_net_range(image, opts["per_image_standardization"])


def preprocess_for_eval(image, height, width, opts):
  image = _rgb(image, opts)
  image = augment.central_crop(image, opts["central_fraction"])
  image = augment.resize(image, height, width)
  image = tf.clip_by_value(image, 0.0, 1.0)
  return augment.to_net_range(image, opts["per_image_standardization"])


def make_fn(style, is_training, **options):
  opts = resolve_options(style, options)

  def preprocess(image, output_height, output_width):
    image = tf.convert_to_tensor(image, tf.float32)
    if is_training:
      out = preprocess_for_train(image, output_height, output_width, opts)
    else:
      out = preprocess_for_eval(image, output_height, output_width, opts)
    out.set_shape([output_height, output_width, 3])
    return out

  preprocess.options = opts
  preprocess.style = style
  return preprocess
