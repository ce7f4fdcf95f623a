"""get_preprocessing(name, is_training, **options) -> fn(image, height, width).

``image`` is float32 in [0, 1], HxWxC with C = 1 or 3, as
``datasets.tfexample.parse`` returns it; the result is float32 [H, W, 3] in the
input range of the chosen net (grayscale replicated to 3 channels).

Names are TF-Slim's model / preprocessing names plus the medical presets
``xray``, ``fundus`` and ``oct`` (see inception_preprocessing.STYLES for what
each preset does and ``OPTIONS`` for the keyword options).
"""
from preprocessing import inception_preprocessing
from preprocessing import vgg_preprocessing

_INCEPTION = "inception"
_VGG = "vgg"

PREPROCESSING_STYLES = {
    "inception": _INCEPTION,
    "inception_v1": _INCEPTION,
    "inception_v2": _INCEPTION,
    "inception_v3": _INCEPTION,
    "inception_v4": _INCEPTION,
    "inception_resnet_v2": _INCEPTION,
    "resnet_v2_50": _INCEPTION,
    "resnet_v2_101": _INCEPTION,
    "resnet_v2_152": _INCEPTION,
    "resnet_v2_200": _INCEPTION,
    "vgg": _VGG,
    "vgg_a": _VGG,
    "vgg_16": _VGG,
    "vgg_19": _VGG,
    "alexnet_v2": _VGG,
    "resnet_v1_50": _VGG,
    "resnet_v1_101": _VGG,
    "resnet_v1_152": _VGG,
    "resnet_v1_200": _VGG,
    "xray": "xray",
    "fundus": "fundus",
    "oct": "oct",
}

MEDICAL_PRESETS = ("xray", "fundus", "oct")


def names():
  return sorted(PREPROCESSING_STYLES)


def style_of(name):
  """The style a name stands for ('inception', 'vgg', 'xray', ...)."""
  if name not in PREPROCESSING_STYLES:
    raise ValueError("Unknown --preprocessing_name %r; choose one of: %s"
                     % (name, ", ".join(names())))
  return PREPROCESSING_STYLES[name]


def resolve_options(name, options=None):
  """Every option of ``name``'s style, with ``options`` (None = default)
  applied: what training and every consumer build the same preprocessing
  from (see nets/model_spec.py)."""
  style = style_of(name)
  options = dict(options or {})
  if style == _VGG:
    return vgg_preprocessing.resolve_options(options)
  return inception_preprocessing.resolve_options(style, options)


def get_preprocessing(name, is_training=False, **options):
  """Returns ``preprocessing_fn(image, output_height, output_width)``.

  Raises ValueError for an unknown name or option.
  """
  style = style_of(name)
  if style == _VGG:
    return vgg_preprocessing.make_fn(is_training, **options)
  return inception_preprocessing.make_fn(style, is_training, **options)
