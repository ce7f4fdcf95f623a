"""Warm-starting from a checkpoint (TF-Slim's --checkpoint_path family).

``--checkpoint_path`` is a checkpoint file/prefix (``inception_v3.ckpt``,
``model.ckpt-1000``) or a directory (its latest checkpoint). Model variables
are restored except those under ``--checkpoint_exclude_scopes``. Before any
training step the shapes are compared: a mismatch (e.g. 1001-class Logits into
a 5-class head) is an error that names the variables and the flag to use.
"""
from typing import Iterable, List, Optional, Sequence

from absl import logging

from tf_compat import slim, tf
from nets import checkpoints


class CheckpointMismatchError(ValueError):
  pass


def split_scopes(value) -> List[str]:
  """'A/B, C' -> ['A/B', 'C']; lists pass through; None/'' -> []."""
  if not value:
    return []
  if isinstance(value, str):
    value = value.split(",")
  return [s.strip() for s in value if s and s.strip()]


def _in_scopes(name: str, scopes: Sequence[str]) -> bool:
  return any(name == s or name.startswith(s.rstrip("/") + "/") for s in scopes)


def variables_to_restore(exclude_scopes=(), variables=None):
  """Model variables outside ``exclude_scopes`` (by op name)."""
  exclude_scopes = split_scopes(exclude_scopes)
  if variables is None:
    variables = slim.get_model_variables()
  return [v for v in variables if not _in_scopes(v.op.name, exclude_scopes)]


def build_restore_map(checkpoint_path: str, exclude_scopes=(),
                      ignore_missing_vars: bool = False, variables=None,
                      logits_scopes: Iterable[str] = ()):
  """{checkpoint name: variable} checked against the checkpoint's contents.

  Raises CheckpointMismatchError on shape mismatches (always) and on
  variables missing from the checkpoint (unless ``ignore_missing_vars``).
  """
  path = checkpoints.resolve(checkpoint_path)
  reader = tf.compat.v1.train.NewCheckpointReader(path)
  shapes = reader.get_variable_to_shape_map()
  restore, missing, mismatched = {}, [], []
  for var in variables_to_restore(exclude_scopes, variables):
    name = var.op.name
    if name not in shapes:
      missing.append(name)
      continue
    want = var.shape.as_list()
    if list(shapes[name]) != want:
      mismatched.append((name, list(shapes[name]), want))
      continue
    restore[name] = var
  if mismatched:
    scopes = sorted({_top_scope(n, logits_scopes) for n, _, _ in mismatched})
    lines = ["  %s: checkpoint %s, model %s" % m for m in mismatched[:20]]
    if len(mismatched) > 20:
      lines.append("  ... and %d more" % (len(mismatched) - 20))
    raise CheckpointMismatchError(
        "%d variable(s) in %s have a different shape than the model:\n%s\n"
        "These layers cannot be restored (typically the classifier of a "
        "checkpoint trained on other classes). Exclude them with "
        "--checkpoint_exclude_scopes=%s (and train them, e.g. "
        "--trainable_scopes=%s)."
        % (len(mismatched), path, "\n".join(lines), ",".join(scopes),
           ",".join(scopes)))
  if missing:
    if not ignore_missing_vars:
      raise CheckpointMismatchError(
          "%d model variable(s) are not in %s, e.g. %s. Pass "
          "--ignore_missing_vars to leave them at their initial values, or "
          "--checkpoint_exclude_scopes to exclude them, or check --model_name "
          "(and --depth_multiplier) match the checkpoint."
          % (len(missing), path, ", ".join(missing[:5])))
    for name in missing:
      logging.warning("Variable %s missing in checkpoint %s; not restored", name, path)
  if not restore:
    raise CheckpointMismatchError(
        "No variable of the model is found in %s: wrong --model_name or "
        "--checkpoint_path?" % path)
  return path, restore


def _top_scope(name: str, logits_scopes: Iterable[str]) -> str:
  for scope in logits_scopes:
    if _in_scopes(name, [scope]):
      return scope
  parts = name.split("/")
  return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def make_init_fn(checkpoint_path: Optional[str], exclude_scopes=(),
                 ignore_missing_vars: bool = False, logits_scopes=()):
  """``fn(scaffold, session)`` restoring the checkpoint, or None.

  Must be called after the model is built (it checks shapes immediately).
  """
  if not checkpoint_path:
    return None
  path, restore = build_restore_map(checkpoint_path, exclude_scopes,
                                    ignore_missing_vars,
                                    logits_scopes=logits_scopes)
  saver = tf.compat.v1.train.Saver(restore, reshape=False, sharded=False)
  logging.info("Fine-tuning from %s (%d variables restored)", path, len(restore))

  def init_fn(unused_scaffold, session):
    saver.restore(session, path)
  init_fn.checkpoint_path = path
  init_fn.restored = sorted(restore)
  return init_fn


def variables_to_train(trainable_scopes=None):
  """Trainable variables under ``trainable_scopes`` (all when empty)."""
  scopes = split_scopes(trainable_scopes)
  variables = tf.compat.v1.trainable_variables()
  if not scopes:
    return variables
  chosen = [v for v in variables if _in_scopes(v.op.name, scopes)]
  if not chosen:
    raise ValueError("--trainable_scopes=%s matches no trainable variable; "
                     "scopes look like InceptionV3/Logits" % ",".join(scopes))
  return chosen


def in_scopes(name, scopes):
  return _in_scopes(name, split_scopes(scopes))
