"""Continuous evaluation: every new checkpoint of a train_dir, once, as
training writes them.

Which checkpoint a path names (file, prefix, directory's latest, all of a
directory by step) is ``nets.checkpoints``, the one rule of every script.
"""
import time
from typing import Callable, Iterator, Optional

from absl import logging

import tensorflow as tf

from nets.checkpoints import list_checkpoints


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
    found = list_checkpoints(directory) if tf.io.gfile.isdir(directory) else []
    found = found[-1] if found else None
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
