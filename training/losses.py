"""Classification losses for imbalanced and multi-label medical data.

Every function adds its loss to ``tf.compat.v1.GraphKeys.LOSSES`` (like
``tf.compat.v1.losses.*``), so the training loop sums whatever was added.

Multi-class (softmax) per batch:
    loss = mean_i  w[y_i] * CE_i
  with CE the (label-smoothed) cross-entropy, optionally focal:
    CE_i = - sum_c q_ic (1 - p_ic)^gamma log p_ic
  (gamma = 0 is the ordinary cross-entropy).

Multi-label (sigmoid per finding) per batch of B examples and K findings:
    loss = mean_{i,k} [ -wp_k y_ik log s_ik - wn_k (1 - y_ik) log(1 - s_ik) ]
                      * (focal factor (1 - p_t)^gamma)
  with ``class_weights='auto'``: wp_k = negatives_k / N, wn_k = positives_k / N.
"""
from typing import Optional, Sequence

import numpy as np

from tf_compat import tf


def auto_class_weights(class_counts: Sequence[int]) -> np.ndarray:
  """N / (K * n_c) per class (scikit-learn's 'balanced'); 0 for empty classes.

  The weights average to 1 over the training examples, so the loss scale (and
  a tuned learning rate) stays comparable to unweighted training.
  """
  counts = np.asarray(class_counts, dtype=np.float64)
  present = counts > 0
  if not present.any():
    raise ValueError("class_counts are all zero: cannot derive class weights")
  total = counts.sum()
  weights = np.zeros_like(counts)
  weights[present] = total / (present.sum() * counts[present])
  return weights.astype(np.float32)


def multilabel_auto_weights(positive_counts: Sequence[int], num_examples: int):
  """(positive_weights, negative_weights) per finding: neg/N and pos/N."""
  pos = np.asarray(positive_counts, dtype=np.float64)
  if num_examples <= 0:
    raise ValueError("num_examples must be positive")
  if np.any(pos > num_examples):
    raise ValueError("a finding has more positives (%s) than examples (%d)"
                     % (pos.max(), num_examples))
  neg = num_examples - pos
  return (neg / num_examples).astype(np.float32), (pos / num_examples).astype(np.float32)


def parse_class_weights(value: Optional[str], num_classes: int):
  """'' / None -> None; 'auto' -> 'auto'; '1,2.5,3' -> list of floats."""
  if value is None or str(value).strip() in ("", "none", "None"):
    return None
  value = str(value).strip()
  if value == "auto":
    return "auto"
  try:
    weights = [float(v) for v in value.split(",")]
  except ValueError:
    raise ValueError("--class_weights must be 'auto' or %d comma-separated "
                     "numbers, got %r" % (num_classes, value))
  if len(weights) != num_classes:
    raise ValueError("--class_weights lists %d numbers but the dataset has %d "
                     "classes" % (len(weights), num_classes))
  if any(w < 0 for w in weights):
    raise ValueError("--class_weights must be non-negative, got %r" % value)
  return weights


def softmax_loss(logits, labels, num_classes, class_weights=None,
                 label_smoothing=0.0, focal_gamma=0.0, loss_weight=1.0,
                 scope=None):
  """Adds the multi-class loss; ``labels`` are int class indices [B].

  ``class_weights``: None or a length-K sequence (already resolved).
  ``loss_weight`` scales the whole term (0.4 for Inception's AuxLogits).
  """
  with tf.compat.v1.name_scope(scope, "softmax_loss", [logits, labels]):
    logits = tf.cast(logits, tf.float32)
    onehot = tf.one_hot(labels, num_classes, dtype=tf.float32)
    if label_smoothing:
      targets = onehot * (1.0 - label_smoothing) + label_smoothing / num_classes
    else:
      targets = onehot
    log_probs = tf.nn.log_softmax(logits)
    if focal_gamma:
      modulator = tf.pow(1.0 - tf.exp(log_probs), focal_gamma)
      per_example = -tf.reduce_sum(targets * modulator * log_probs, axis=1)
    else:
      per_example = -tf.reduce_sum(targets * log_probs, axis=1)
    weights = tf.constant(loss_weight, tf.float32)
    if class_weights is not None:
      weights = weights * tf.gather(tf.constant(class_weights, tf.float32), labels)
    return tf.compat.v1.losses.compute_weighted_loss(
        per_example, weights=weights,
        reduction=tf.compat.v1.losses.Reduction.SUM_OVER_BATCH_SIZE)


def sigmoid_loss(logits, multi_hot, positive_weights=None, negative_weights=None,
                 label_smoothing=0.0, focal_gamma=0.0, loss_weight=1.0,
                 scope=None):
  """Adds the multi-label loss; ``multi_hot`` is [B, K] of 0/1."""
  with tf.compat.v1.name_scope(scope, "sigmoid_loss", [logits, multi_hot]):
    logits = tf.cast(logits, tf.float32)
    y = tf.cast(multi_hot, tf.float32)
    if label_smoothing:
      y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    num_findings = logits.shape[-1]
    wp = tf.constant(positive_weights if positive_weights is not None
                     else [1.0] * num_findings, tf.float32)
    wn = tf.constant(negative_weights if negative_weights is not None
                     else [1.0] * num_findings, tf.float32)
    log_p = tf.math.log_sigmoid(logits)
    log_not_p = tf.math.log_sigmoid(-logits)
    per_element = -(wp * y * log_p + wn * (1.0 - y) * log_not_p)
    if focal_gamma:
      p = tf.sigmoid(logits)
      p_t = y * p + (1.0 - y) * (1.0 - p)
      per_element = per_element * tf.pow(1.0 - p_t, focal_gamma)
    return tf.compat.v1.losses.compute_weighted_loss(
        per_element, weights=loss_weight,
        reduction=tf.compat.v1.losses.Reduction.SUM_OVER_BATCH_SIZE)


class LossConfig:
  """Resolved loss settings for one dataset split (plain values).

  With ``labels_offset`` (TF-Slim's background-class offset) the net models
  the dataset's classes from ``labels_offset`` on: the loss has
  ``num_classes - labels_offset`` classes, labels arrive already shifted, and
  class weights (given per dataset class, or 'auto' from its counts) drop the
  first ``labels_offset`` entries.
  """

  def __init__(self, split, class_weights=None, label_smoothing=0.0,
               focal_gamma=0.0, aux_loss_weight=0.4, labels_offset=0):
    if labels_offset and split.multilabel:
      raise ValueError("--labels_offset does not apply to multi-label data")
    self.multilabel = split.multilabel
    self.num_classes = split.num_classes - labels_offset
    self.label_smoothing = label_smoothing
    self.focal_gamma = focal_gamma
    self.aux_loss_weight = aux_loss_weight
    self.class_weights = None
    self.positive_weights = self.negative_weights = None
    weights = parse_class_weights(class_weights, split.num_classes) \
        if not isinstance(class_weights, (list, tuple)) else list(class_weights)
    if weights == "auto":
      if self.multilabel:
        self.positive_weights, self.negative_weights = multilabel_auto_weights(
            split.class_counts, split.num_samples)
        self.positive_weights = self.positive_weights.tolist()
        self.negative_weights = self.negative_weights.tolist()
      else:
        self.class_weights = auto_class_weights(
            split.class_counts[labels_offset:]).tolist()
    elif weights is not None:
      if self.multilabel:
        self.positive_weights = [float(w) for w in weights]  # negatives stay 1
      else:
        self.class_weights = [float(w) for w in weights][labels_offset:]

  def add(self, logits, labels, loss_weight=1.0, scope=None):
    if self.multilabel:
      return sigmoid_loss(logits, labels, self.positive_weights,
                          self.negative_weights, self.label_smoothing,
                          self.focal_gamma, loss_weight, scope)
    return softmax_loss(logits, labels, self.num_classes, self.class_weights,
                        self.label_smoothing, self.focal_gamma, loss_weight, scope)

  def describe(self):
    return {"multilabel": self.multilabel, "class_weights": self.class_weights,
            "positive_weights": self.positive_weights,
            "negative_weights": self.negative_weights,
            "label_smoothing": self.label_smoothing,
            "focal_gamma": self.focal_gamma}
