"""Official TF-Slim ImageNet checkpoints, and STAND-INS for offline runs.

``OFFICIAL_CHECKPOINTS`` lists where TF-Slim publishes the pretrained
weights. Fine-tuning scripts download ``inception_v3_2016_08_28.tar.gz`` from
there (it unpacks to ``inception_v3.ckpt``).

``make_standin_checkpoint`` writes a checkpoint WITH THE OFFICIAL VARIABLE
NAMES (and, at depth_multiplier=1, the official shapes) but RANDOM VALUES. It
is a stand-in: it lets tests and the small mode of ``scripts/`` exercise the
whole fine-tuning path (restore with --checkpoint_exclude_scopes,
--trainable_scopes) without network access. It teaches the model nothing;
never use it for real fine-tuning.
"""
import os
from typing import Optional

import numpy as np

from tf_compat import slim, tf
from nets import nets_factory

_BASE_URL = "http://download.tensorflow.org/models/"

# model_name -> (archive URL, checkpoint file inside the archive)
OFFICIAL_CHECKPOINTS = {
    "inception_v1": (_BASE_URL + "inception_v1_2016_08_28.tar.gz", "inception_v1.ckpt"),
    "inception_v2": (_BASE_URL + "inception_v2_2016_08_28.tar.gz", "inception_v2.ckpt"),
    "inception_v3": (_BASE_URL + "inception_v3_2016_08_28.tar.gz", "inception_v3.ckpt"),
    "resnet_v1_50": (_BASE_URL + "resnet_v1_50_2016_08_28.tar.gz", "resnet_v1_50.ckpt"),
    "resnet_v1_101": (_BASE_URL + "resnet_v1_101_2016_08_28.tar.gz", "resnet_v1_101.ckpt"),
    "resnet_v1_152": (_BASE_URL + "resnet_v1_152_2016_08_28.tar.gz", "resnet_v1_152.ckpt"),
    "resnet_v2_50": (_BASE_URL + "resnet_v2_50_2017_04_14.tar.gz", "resnet_v2_50.ckpt"),
    "resnet_v2_101": (_BASE_URL + "resnet_v2_101_2017_04_14.tar.gz", "resnet_v2_101.ckpt"),
    "resnet_v2_152": (_BASE_URL + "resnet_v2_152_2017_04_14.tar.gz", "resnet_v2_152.ckpt"),
    "vgg_16": (_BASE_URL + "vgg_16_2016_08_28.tar.gz", "vgg_16.ckpt"),
    "vgg_19": (_BASE_URL + "vgg_19_2016_08_28.tar.gz", "vgg_19.ckpt"),
}


def _build_size(spec, image_size: Optional[int]) -> int:
  if image_size:
    return image_size
  # Variable shapes do not depend on the input size except where a kernel is
  # shrunk for small inputs, so build at the default size.
  return spec.default_image_size


def make_standin_checkpoint(model_name: str, path: str,
                            num_classes: Optional[int] = None,
                            depth_multiplier: Optional[float] = None,
                            image_size: Optional[int] = None,
                            seed: int = 0, v1_format: bool = False) -> str:
  """Writes a RANDOM-VALUED checkpoint with ``model_name``'s official names.

  Args:
    model_name: a nets_factory name, e.g. 'inception_v3'.
    path: checkpoint prefix to write, e.g. '<dir>/inception_v3.ckpt' (V2
      format: ``.index`` + ``.data-*`` files next to it).
    num_classes: logits width; default the official ImageNet one (1001 for
      Inception and ResNet v2, 1000 for VGG and ResNet v1).
    depth_multiplier: thin Inception v2/v3 the same way as the run that will
      restore it (1.0 gives the official shapes).
    image_size: input size used to build the graph (default: the net's
      default size; InceptionV3's AuxLogits kernel shrinks below 299).
    seed: values are seeded, so the file is reproducible.
    v1_format: write a single-file V1 checkpoint, as the official 2016
      archives are, instead of the default V2 files.

  Returns:
    ``path``. Only model variables are saved (weights, biases, batch-norm
    beta/gamma/moving statistics), as in the published checkpoints; no
    global_step, no optimizer slots.
  """
  spec = nets_factory.get_spec(model_name)
  if num_classes is None:
    num_classes = spec.imagenet_num_classes
  directory = os.path.dirname(os.path.abspath(path))
  tf.io.gfile.makedirs(directory)
  rng = np.random.RandomState(seed)
  size = _build_size(spec, image_size)
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=num_classes, is_training=False,
        depth_multiplier=depth_multiplier)
    network_fn(tf.zeros([1, size, size, 3]))
    variables = slim.get_model_variables()
    assigns = []
    for var in variables:
      shape = var.shape.as_list()
      if var.op.name.endswith("moving_variance"):
        value = rng.uniform(0.5, 1.5, shape)
      elif var.op.name.endswith("gamma"):
        value = rng.uniform(0.8, 1.2, shape)
      else:
        value = rng.normal(0.0, 0.05, shape)
      assigns.append(var.assign(value.astype(np.float32)))
    # The official 2016 files are single-file V1 checkpoints; v1_format=True
    # writes that format, so tests read the same kind of file users have.
    version = (tf.compat.v1.train.SaverDef.V1 if v1_format
               else tf.compat.v1.train.SaverDef.V2)
    saver = tf.compat.v1.train.Saver(variables, write_version=version)
    with tf.compat.v1.Session() as sess:
      sess.run(assigns)
      saver.save(sess, path, write_meta_graph=False, write_state=False)
  return path


def main(argv=None):
  """``python -m nets.checkpoints MODEL PATH [NUM_CLASSES] [DEPTH_MULTIPLIER]
  [IMAGE_SIZE]``: writes a stand-in checkpoint (used by scripts/ small mode)."""
  import sys
  args = list(sys.argv[1:] if argv is None else argv)
  if len(args) < 2:
    raise SystemExit("usage: python -m nets.checkpoints MODEL PATH "
                     "[NUM_CLASSES] [DEPTH_MULTIPLIER] [IMAGE_SIZE]")
  model_name, path = args[0], args[1]
  args += [""] * (5 - len(args))  # "" = the default
  num_classes = int(args[2]) if args[2] else None
  depth_multiplier = float(args[3]) if args[3] else None
  image_size = int(args[4]) if args[4] else None
  written = make_standin_checkpoint(model_name, path, num_classes,
                                    depth_multiplier, image_size)
  print("Wrote a STAND-IN %s checkpoint (official variable names, random "
        "values) to %s" % (model_name, written))


if __name__ == "__main__":
  main()
