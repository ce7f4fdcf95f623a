"""deployment.precision: which rewrite runs where, set in the session config.

The GPU paths are exercised on CPU with a described GPU: the rewrite is a
graph option (checked here) and loss scaling an optimizer wrapper (checked in
tests/training/test_mixed_precision.py by a training run).
"""
from tensorflow.core.protobuf import rewriter_config_pb2

from tf_compat import tf
from deployment import precision

ON = rewriter_config_pb2.RewriterConfig.ON
AMPERE = [{"name": "A100", "compute_capability": (8, 0)}]


def test_cpu_flags_decide_bfloat16():
  assert precision.cpu_supports_bfloat16(["avx512f", "avx512_bf16"])
  assert precision.cpu_supports_bfloat16(["amx_bf16", "amx_tile"])
  assert not precision.cpu_supports_bfloat16(["avx512f", "avx2"])


def test_bfloat16_cpu_gets_the_onednn_rewrite_only():
  chosen = precision.choose(True, gpus=[], cpu_bfloat16=True)
  assert chosen.policy == precision.MIXED_BFLOAT16 and not chosen.loss_scaling
  rewrite = precision.session_config(chosen).graph_options.rewrite_options
  assert rewrite.auto_mixed_precision_onednn_bfloat16 == ON
  assert rewrite.auto_mixed_precision != ON
  assert "bfloat16" in chosen.describe()


def test_gpu_gets_float16_rewrite_and_loss_scaling():
  chosen = precision.choose(True, gpus=AMPERE, cpu_bfloat16=True)
  assert chosen.policy == precision.MIXED_FLOAT16 and chosen.loss_scaling
  rewrite = precision.session_config(chosen).graph_options.rewrite_options
  assert rewrite.auto_mixed_precision == ON
  assert rewrite.auto_mixed_precision_onednn_bfloat16 != ON
  with tf.Graph().as_default():
    wrapped = precision.wrap_optimizer(
        tf.compat.v1.train.GradientDescentOptimizer(0.1), chosen)
  assert isinstance(wrapped, tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer)
  # --clone_on_cpu keeps the graph on the CPU: its rewrite, not the GPU's.
  assert precision.choose(True, use_gpu=False, gpus=AMPERE,
                          cpu_bfloat16=True).policy == precision.MIXED_BFLOAT16


def test_old_gpu_is_named_in_the_note():
  chosen = precision.choose(True, gpus=[{"name": "K80", "compute_capability": (3, 7)}])
  assert chosen.policy == precision.MIXED_FLOAT16 and "3.7" in chosen.note


def test_cpu_without_bf16_stays_float32_and_says_so():
  chosen = precision.choose(True, gpus=[], cpu_bfloat16=False)
  assert chosen.policy == precision.FLOAT32 and chosen.requested
  assert "no effect" in chosen.describe()
  rewrite = precision.session_config(chosen).graph_options.rewrite_options
  assert rewrite.auto_mixed_precision != ON
  assert rewrite.auto_mixed_precision_onednn_bfloat16 != ON


def test_without_the_flag_nothing_changes():
  chosen = precision.choose(False, gpus=AMPERE, cpu_bfloat16=True)
  assert chosen.policy == precision.FLOAT32 and not chosen.requested
  config = precision.session_config(chosen)
  assert config.allow_soft_placement
  assert config.graph_options.rewrite_options == rewriter_config_pb2.RewriterConfig()
  with tf.Graph().as_default():
    sgd = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    assert precision.wrap_optimizer(sgd, chosen) is sgd
