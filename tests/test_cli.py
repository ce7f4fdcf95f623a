"""cli.run: user mistakes are one stderr line and exit status 1; bugs trace."""
import pytest

import cli


def _run(error, capsys):
  def main(unused_argv):
    raise error
  status = cli.guarded(main, "some_script")(["some_script"])
  return status, capsys.readouterr().err


@pytest.mark.parametrize("make_error", [
    lambda: ValueError("--positive_class=x names no class;\n  the classes are: a, b"),
    lambda: FileNotFoundError("--dataset_dir=/x: no dataset_info.json"),
    lambda: __import__("datasets.convert", fromlist=["_"]).ConversionError("bad"),
    lambda: __import__("datasets.sources.base", fromlist=["_"]).SourceError("bad"),
    lambda: __import__("training.train", fromlist=["_"]).TrainingDivergedError("NaN"),
], ids=["ValueError", "FileNotFoundError", "ConversionError", "SourceError",
        "TrainingDivergedError"])
def test_user_errors_are_one_line_with_status_1(make_error, capsys):
  error = make_error()
  status, err = _run(error, capsys)
  assert status == 1
  assert err.count("\n") == 1 and err.startswith("some_script: error: ")
  assert " ".join(str(error).split()) in err


def test_other_exceptions_are_bugs_and_keep_their_traceback(capsys):
  with pytest.raises(KeyError):
    _run(KeyError("bug"), capsys)


def test_script_name_is_the_file_stem():
  assert cli.script_name("/repo/eval_image_classifier.py") == "eval_image_classifier"
