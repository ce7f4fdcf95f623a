"""The one place where the top-level scripts turn user mistakes into one line.

Every script ends with ``cli.run(main)`` instead of ``app.run(main)``. An
error that means "the input or a flag is wrong" -- ValueError, a missing or
existing file, and our own error classes (USER_ERRORS) -- raised from the
packages is printed as ONE line on stderr

    <script>: error: <message>

and the script exits with status 1. Any other exception is a bug and keeps
its traceback. ``--verbosity=1`` also logs the traceback of user errors.
A flag absl cannot parse (unknown, bad value) is one such line too, and a
flag a script renamed (``renamed_flags``) names its new name.
"""
import os
import re
import sys

from absl import app, flags, logging

# Built-in exception types that mean a user mistake.
BUILTIN_USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError,
                       NotADirectoryError, IsADirectoryError, PermissionError)

# Our own error classes (and TensorFlow's file errors), by module and name:
# only looked up when their module is loaded already, so the converter
# does not import training (nor TensorFlow) to check an exception.
USER_ERRORS = (
    ("datasets.convert", "ConversionError"),
    ("datasets.sources.base", "SourceError"),
    ("datasets.imaging", "ImageReadError"),
    ("training.train", "TrainingDivergedError"),
    ("training.restore", "CheckpointMismatchError"),
    ("tensorflow.python.framework.errors_impl", "NotFoundError"),
    ("tensorflow.python.framework.errors_impl", "PermissionDeniedError"),
)


def user_error_types():
  types = list(BUILTIN_USER_ERRORS)
  for module_name, class_name in USER_ERRORS:
    module = sys.modules.get(module_name)
    error_type = getattr(module, class_name, None) if module else None
    if isinstance(error_type, type):
      types.append(error_type)
  return tuple(types)


def script_name(argv0=None) -> str:
  return os.path.splitext(os.path.basename(argv0 or sys.argv[0]))[0] or "slim-med"


def one_line(err: BaseException) -> str:
  text = re.sub(r"\s*\n\s*", " ", str(err).strip())
  return text or type(err).__name__


def guarded(main, name=None):
  """``main`` wrapped: user errors -> one stderr line and exit status 1."""

  def wrapper(argv):
    try:
      return main(argv)
    except user_error_types() as err:
      logging.debug("user error", exc_info=True)
      print("%s: error: %s" % (name or script_name(), one_line(err)),
            file=sys.stderr, flush=True)
      return 1

  return wrapper


def flags_parser(name=None, renamed_flags=None):
  """absl's flag parsing, its errors as one line: ``renamed_flags`` maps an
  old flag name to (new name, what the new flag means)."""

  def parse(argv):
    try:
      return flags.FLAGS(argv)
    except flags.Error as err:
      old = getattr(err, "flagname", None)
      if old in (renamed_flags or {}):
        new, meaning = renamed_flags[old]
        message = "--%s is now --%s (%s): pass --%s" % (old, new, meaning, new)
      else:
        message = "%s (see --helpshort)" % one_line(err)
      print("%s: error: %s" % (name or script_name(argv[0]), message),
            file=sys.stderr, flush=True)
      sys.exit(1)

  return parse


def run(main, name=None, renamed_flags=None):
  """``absl.app.run`` of ``main`` with user errors on one line."""
  app.run(guarded(main, name),
          flags_parser=flags_parser(name, renamed_flags))
