"""Which checkpoints to evaluate: one file, a directory's latest, all of a
directory in step order, or every new one as training writes them.

A checkpoint is named by its prefix, ``<train_dir>/model.ckpt-<step>``; the
``.index`` / ``.data-*`` / ``.meta`` files of it are accepted too.
"""
import os
import re
import time
from typing import Callable, Iterator, List, Optional

from absl import logging

import tensorflow as tf

_SUFFIX = re.compile(r"\.(index|meta|data-\d+-of-\d+)$")
_STEP = re.compile(r"-(\d+)$")


def step_of(prefix: str) -> int:
  match = _STEP.search(prefix)
  return int(match.group(1)) if match else -1


def _prefix(path: str) -> str:
  return _SUFFIX.sub("", path)


def list_checkpoints(directory: str) -> List[str]:
  """Every complete checkpoint in ``directory`` (has .index), by step."""
  found = set()
  for index in tf.io.gfile.glob(os.path.join(directory, "*.index")):
    found.add(_prefix(index))
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
  found = list_checkpoints(directory)
  return found[-1] if found else None


def resolve(path: str) -> str:
  """A checkpoint prefix from a prefix, one of its files, or a directory."""
  if tf.io.gfile.isdir(path):
    found = latest(path)
    if found is None:
      raise FileNotFoundError(
          "No checkpoint (model.ckpt-<step>.index) in %s; pass the train_dir "
          "of train_image_classifier.py or a checkpoint file" % path)
    return found
  prefix = _prefix(path)
  if tf.io.gfile.exists(prefix + ".index") or tf.io.gfile.exists(prefix):
    return prefix
  raise FileNotFoundError(
      "Checkpoint %s not found (looked for %s.index); pass "
      "--checkpoint_path=<train_dir>/model.ckpt-<step> or the train_dir"
      % (path, prefix))


def checkpoint_dir(path: str) -> str:
  return path if tf.io.gfile.isdir(path) else os.path.dirname(_prefix(path))


def new_checkpoints(directory: str, interval_secs: float = 60.0,
                    timeout: Optional[float] = None,
                    sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.time) -> Iterator[str]:
  """Yields the newest checkpoint of ``directory`` each time a new one appears.

  Like TF-Slim's evaluation loop: the latest checkpoint is yielded once; when
  training wrote several while the previous one was evaluated, only the newest
  is taken, and no checkpoint is yielded twice. Polls every
  ``interval_secs``; stops when no new checkpoint came for ``timeout`` seconds
  (never when ``timeout`` is None).
  """
  seen = set()
  last_new = clock()
  while True:
    found = latest(directory) if tf.io.gfile.isdir(directory) else None
    if found is not None and found not in seen:
      seen.add(found)
      yield found
      last_new = clock()
      continue
    if timeout is not None and clock() - last_new >= timeout:
      logging.info("No new checkpoint in %s for %.0f s; stopping.", directory,
                   timeout)
      return
    wait = interval_secs
    if timeout is not None:
      wait = min(wait, max(0.0, timeout - (clock() - last_new)))
    logging.info("Waiting %.0f s for a new checkpoint in %s", wait, directory)
    sleep(wait)
