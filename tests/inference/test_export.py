"""The SavedModel's note on precision (assets.extra README.txt and
model_spec.json's serving note): a SavedModel cannot carry the 16-bit session
rewrite, so the note must say so and name the options a server sets."""
from tensorflow.core.protobuf import rewriter_config_pb2

from inference import export


def test_mixed_precision_note_names_real_rewrite_options():
  note = export.precision_note(True)
  assert "mixed_precision=true" in note and "float32 graph and weights" in note
  named = [word.split(".")[-1] for word in note.replace(")", " ").split()
           if word.startswith(("graph_options.", "auto_mixed_precision"))]
  assert set(named) == {"auto_mixed_precision_onednn_bfloat16", "auto_mixed_precision"}
  fields = rewriter_config_pb2.RewriterConfig.DESCRIPTOR.fields_by_name
  for name in named:       # options a server can really set
    assert name in fields, name


def test_float32_note():
  note = export.precision_note(False)
  assert "mixed_precision=false" in note and "rewrite" not in note
