"""Checkpoints: which file a path names, the official TF-Slim ImageNet
checkpoints, and STAND-INS for offline runs.

``resolve`` is THE rule for every ``--checkpoint_path`` (training's
fine-tuning start, eval, predict, export, Grad-CAM): a checkpoint prefix
(``model.ckpt-<step>``, or one of its ``.index``/``.data-*``/``.meta``
files), a single-file V1 checkpoint (the official ``inception_v3.ckpt``),
or a directory: its latest complete checkpoint by step, else its only V1
``*.ckpt`` file.

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
import re
from typing import List, Optional

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


_SUFFIX = re.compile(r"\.(index|meta|data-\d+-of-\d+)$")
_STEP = re.compile(r"-(\d+)$")


def step_of(prefix: str) -> int:
  """The global step in a checkpoint name (``model.ckpt-500`` -> 500), else -1."""
  match = _STEP.search(prefix)
  return int(match.group(1)) if match else -1


def prefix_of(path: str) -> str:
  """``model.ckpt-5.index`` / ``.meta`` / ``.data-00000-of-00001`` -> ``model.ckpt-5``."""
  return _SUFFIX.sub("", path)


def list_checkpoints(directory: str) -> List[str]:
  """Every complete V2 checkpoint in ``directory`` (its ``.index`` exists),
  from the files and from the ``checkpoint`` state file, by step."""
  found = set()
  for index in tf.io.gfile.glob(os.path.join(directory, "*.index")):
    found.add(prefix_of(index))
  state = tf.train.get_checkpoint_state(directory)
  if state is not None:
    for path in list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]:
      if path:
        if not os.path.isabs(path) and "://" not in path:
          path = os.path.join(directory, path)
        if tf.io.gfile.exists(path + ".index"):
          found.add(path)
  return sorted(found, key=lambda p: (step_of(p), p))


def latest(directory: str) -> Optional[str]:
  """The newest complete checkpoint of ``directory``; else its only V1
  ``*.ckpt`` file (an unpacked official archive); else None."""
  found = list_checkpoints(directory)
  if found:
    return found[-1]
  single = [path for path in tf.io.gfile.glob(os.path.join(directory, "*.ckpt"))
            if not tf.io.gfile.isdir(path)]
  return single[0] if len(single) == 1 else None


def resolve(path: str, flag: str = "--checkpoint_path") -> str:
  """The checkpoint ``path`` names (see the module doc); a mistake is a
  ValueError / FileNotFoundError naming ``flag`` and what to pass."""
  if not path:
    raise ValueError("%s is empty; pass a checkpoint file or a train_dir" % flag)
  if tf.io.gfile.isdir(path):
    found = latest(path)
    if found is None:
      raise FileNotFoundError(
          "%s=%s holds no checkpoint (no model.ckpt-<step>.index, no single "
          "*.ckpt file); pass the train_dir of train_image_classifier.py or a "
          "checkpoint file, e.g. %s/inception_v3.ckpt unpacked from "
          "inception_v3_2016_08_28.tar.gz" % (flag, path, path.rstrip("/")))
    return found
  prefix = prefix_of(path)
  if tf.io.gfile.exists(prefix + ".index"):
    return prefix
  if prefix == path and tf.io.gfile.exists(path):
    return path   # a single-file V1 checkpoint
  raise FileNotFoundError(
      "%s=%s does not exist (neither the file nor %s.index); pass "
      "<train_dir>/model.ckpt-<step>, a train_dir, or an unpacked official "
      "checkpoint such as inception_v3.ckpt" % (flag, path, prefix))


def checkpoint_dir(path: str) -> str:
  """The directory a checkpoint path (or a train_dir) lives in."""
  if tf.io.gfile.isdir(path):
    return path
  return os.path.dirname(prefix_of(path)) or "."


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
