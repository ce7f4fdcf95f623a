"""Which precision a session runs in, per device, and the session config for it.

``--mixed_precision`` asks for 16-bit compute with float32 variables. What that
means depends on the device the graph runs on:

  * GPU: TensorFlow's ``auto_mixed_precision`` graph rewrite (float16 convs and
    matmuls on GPUs of compute capability >= 7.0) and, for training, dynamic
    loss scaling (``MixedPrecisionLossScaleOptimizer``). TensorFlow's graph
    rewrite has no bfloat16 mode for GPUs (its bfloat16 rewrite is oneDNN's,
    CPU only), so GPUs that also support bfloat16 get float16 + loss scaling.
  * CPU with AVX512-BF16 or AMX-BF16 (and TensorFlow's oneDNN ops on): the
    ``auto_mixed_precision_onednn_bfloat16`` rewrite. No loss scaling is
    needed: bfloat16 has float32's exponent range.
  * other CPUs: nothing would be faster, so the run stays float32 and a
    warning says the flag has no effect.

In every case the rewrite only changes op dtypes inside the session's graph
optimizer: variables (and so checkpoints), batch-norm moving statistics, the
loss and the softmax stay float32 (the rewrite's lists keep softmax,
cross-entropy and reductions in float32; batch norm computes in 16 bits with
float32 statistics). Nothing global is set: only sessions built with
``session_config`` run mixed, so float32 sessions in the same process (tests,
benchmarks) are unaffected.
"""
import dataclasses
import os
from typing import List, Optional, Sequence, Tuple

from absl import logging

from tf_compat import tf
from tensorflow.core.protobuf import rewriter_config_pb2

FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
MIXED_FLOAT16 = "mixed_float16"

# The RewriterConfig field (graph_options.rewrite_options) each 16-bit policy
# turns on: session_config sets it, export's serving note names it.
REWRITE_OPTION = {MIXED_BFLOAT16: "auto_mixed_precision_onednn_bfloat16",
                  MIXED_FLOAT16: "auto_mixed_precision"}

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
GPU_FLOAT16_MIN_CAPABILITY = (7, 0)    # tensor cores (Volta)


@dataclasses.dataclass(frozen=True)
class Precision:
  policy: str                 # FLOAT32, MIXED_BFLOAT16 or MIXED_FLOAT16
  device: str                 # "cpu" or "gpu"
  requested: bool = False     # --mixed_precision was given
  note: str = ""

  @property
  def mixed(self) -> bool:
    return self.policy != FLOAT32

  @property
  def loss_scaling(self) -> bool:
    return self.policy == MIXED_FLOAT16

  def describe(self) -> str:
    if self.policy == MIXED_BFLOAT16:
      text = ("mixed precision: bfloat16 compute on the CPU (oneDNN rewrite), "
              "float32 variables")
    elif self.policy == MIXED_FLOAT16:
      text = ("mixed precision: float16 compute on the GPU (auto_mixed_precision "
              "rewrite), float32 variables")
    else:
      text = "float32"
    return text + ("; " + self.note if self.note else "")


def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> Tuple[str, ...]:
  """The CPU's feature flags (Linux; empty elsewhere)."""
  try:
    with open(cpuinfo_path) as f:
      for line in f:
        if line.startswith("flags"):
          return tuple(line.split(":", 1)[1].split())
  except OSError:
    pass
  return ()


def cpu_supports_bfloat16(flags: Optional[Sequence[str]] = None) -> bool:
  flags = cpu_flags() if flags is None else flags
  return any(f in flags for f in CPU_BF16_FLAGS)


def onednn_enabled() -> bool:
  try:
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    return False


def visible_gpus() -> List[dict]:
  """[{'name', 'compute_capability'}] of the GPUs TensorFlow sees."""
  out = []
  for device in tf.config.list_physical_devices("GPU"):
    try:
      details = tf.config.experimental.get_device_details(device)
    except (ValueError, RuntimeError):
      details = {}
    out.append({"name": details.get("device_name", device.name),
                "compute_capability": details.get("compute_capability")})
  return out


def choose(mixed_precision: bool, use_gpu: bool = True,
           gpus: Optional[List[dict]] = None,
           cpu_bfloat16: Optional[bool] = None) -> Precision:
  """The precision a session runs in. ``gpus`` and ``cpu_bfloat16`` default to
  this machine's (tests pass them to exercise other machines' paths);
  ``use_gpu=False`` for graphs pinned to the CPU (--clone_on_cpu)."""
  if not mixed_precision:
    return Precision(FLOAT32, "cpu")
  gpus = visible_gpus() if gpus is None else gpus
  if use_gpu and gpus:
    caps = [tuple(g["compute_capability"]) for g in gpus
            if g.get("compute_capability")]
    note = ""
    if caps and min(caps) < GPU_FLOAT16_MIN_CAPABILITY:
      note = ("a GPU has compute capability %d.%d < 7.0: TensorFlow's rewrite "
              "leaves it in float32" % min(caps))
    return Precision(MIXED_FLOAT16, "gpu", True, note)
  if cpu_bfloat16 is None:
    cpu_bfloat16 = cpu_supports_bfloat16() and onednn_enabled()
  if cpu_bfloat16:
    return Precision(MIXED_BFLOAT16, "cpu", True)
  return Precision(FLOAT32, "cpu", True,
                   "--mixed_precision has no effect here: this CPU has no "
                   "bfloat16 instructions (AVX512-BF16/AMX) or TensorFlow's "
                   "oneDNN ops are off, and no GPU is visible")


def log(precision: Precision, what: str = "Training") -> None:
  if precision.requested and not precision.mixed:
    logging.warning("%s precision: %s", what, precision.describe())
  else:
    logging.info("%s precision: %s", what, precision.describe())


def session_config(precision: Precision, base=None):
  """A ConfigProto (a copy of ``base``, or allow_soft_placement) whose graph
  optimizer applies ``precision``'s rewrite."""
  config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
  if base is not None:
    config.CopyFrom(base)
  if precision.policy in REWRITE_OPTION:
    setattr(config.graph_options.rewrite_options, REWRITE_OPTION[precision.policy],
            rewriter_config_pb2.RewriterConfig.ON)
  return config


def wrap_optimizer(optimizer, precision: Precision):
  """Dynamic loss scaling for float16 (bfloat16 needs none)."""
  if precision.loss_scaling:
    return tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(
        optimizer, loss_scale="dynamic")
  return optimizer


def for_inference(mixed_precision: Optional[bool]) -> Precision:
  """Inference precision: same choice, never loss scaling."""
  return choose(bool(mixed_precision))


def environment_summary() -> str:
  """One line naming the CPU model, its bfloat16 flags and the GPUs (benchmarks)."""
  model = ""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          model = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  flags = [f for f in cpu_flags() if "bf16" in f or f.startswith("amx")]
  gpus = [g["name"] for g in visible_gpus()]
  return "CPU %s (%d cores; %s), GPUs: %s" % (
      model or "unknown", os.cpu_count() or 0, ", ".join(flags) or "no bf16/amx flags",
      ", ".join(gpus) or "none")
