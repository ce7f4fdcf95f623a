"""Patient-grouped, label-stratified, seeded train/validation/test split.

Every patient group goes to exactly one split. Groups are stratified by a
label key (multi-class: the group's most common class; multi-label: its
rarest finding, or 'no finding'); inside each stratum the seeded, shuffled
groups are dealt one by one to the split furthest below its target count, so
with one image per patient every class lands within one example of its
target fraction. The same records and seed always give the same split.

Layouts that ship their own splits (Kermany OCT) keep them; validation is
carved out of their train split only when they have none.
"""
import collections
import csv
import hashlib
import io
from typing import Dict, List, Sequence

import numpy as np

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLIT_ORDER = (TRAIN, VALIDATION, TEST)
MANIFEST_COLUMNS = ("source_id", "patient_group", "split", "label")


def _stable_seed(seed: int, key) -> int:
  digest = hashlib.sha256(("%d|%s" % (seed, key)).encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "little")


def _group_key(labels: List[tuple], multilabel: bool, frequency) -> int:
  if multilabel:
    positives = {i for label in labels for i in label}
    if not positives:
      return -1
    return min(positives, key=lambda i: (frequency[i], i))
  counts = collections.Counter(label[0] for label in labels)
  top = max(counts.values())
  return max(c for c, n in counts.items() if n == top)


def split_groups(records: Sequence, fractions: Dict[str, float], seed: int,
                 multilabel: bool = False) -> List[str]:
  """Split names aligned with ``records`` (objects with .patient_group, .label)."""
  groups = collections.OrderedDict()
  for i, record in enumerate(records):
    groups.setdefault(record.patient_group, []).append(i)
  frequency = collections.Counter(i for r in records for i in r.label)
  strata = collections.defaultdict(list)
  for group, members in groups.items():
    key = _group_key([records[i].label for i in members], multilabel, frequency)
    strata[key].append(group)
  names = [s for s in SPLIT_ORDER if fractions.get(s, 0) > 0 or s == TRAIN]
  assignment = [TRAIN] * len(records)
  share = {s: fractions.get(s, 0.0) for s in names}
  share[TRAIN] = 1.0 - sum(share[s] for s in names if s != TRAIN)
  overall = dict.fromkeys(names, 0)
  seen = 0
  for key in sorted(strata):
    stratum = sorted(strata[key])
    rng = np.random.default_rng(_stable_seed(seed, key))
    order = rng.permutation(len(stratum))
    total = sum(len(groups[g]) for g in stratum)
    current = dict.fromkeys(names, 0)
    for j in order:
      members = groups[stratum[j]]
      seen += len(members)
      # The split furthest below its target, in this stratum plus overall
      # (so that small strata do not all round the same way); ties go to the
      # earlier split.
      def deficit(s):
        return (share[s] * total - current[s]) + (share[s] * seen - overall[s])
      best = max(names, key=lambda s: (deficit(s), -names.index(s)))
      current[best] += len(members)
      overall[best] += len(members)
      for i in members:
        assignment[i] = best
  return assignment


def assign(records: Sequence, validation_size: float, test_size: float,
           seed: int, multilabel: bool = False) -> List[str]:
  """Split name per record; honours ``record.given_split`` when present."""
  for name, value in (("validation_size", validation_size), ("test_size", test_size)):
    if not 0.0 <= value < 1.0:
      raise ValueError("--%s must be a fraction in [0, 1), got %r" % (name, value))
  if validation_size + test_size >= 1.0:
    raise ValueError("--validation_size + --test_size must be < 1, got %r"
                     % (validation_size + test_size))
  given = [getattr(r, "given_split", None) for r in records]
  if not any(given):
    return split_groups(records, {VALIDATION: validation_size, TEST: test_size},
                        seed, multilabel)
  result = list(given)
  if VALIDATION not in given and validation_size > 0:
    train_idx = [i for i, s in enumerate(given) if s == TRAIN]
    sub = split_groups([records[i] for i in train_idx],
                       {VALIDATION: validation_size}, seed, multilabel)
    for i, s in zip(train_idx, sub):
      result[i] = s
  return result


def shard_order(source_ids: Sequence[str], seed: int) -> List[int]:
  """A seeded order for writing one split (mixes classes across shards)."""
  keyed = sorted(range(len(source_ids)),
                 key=lambda i: _stable_seed(seed, source_ids[i]))
  return keyed


def label_text(label: Sequence[int], class_names: Sequence[str]) -> str:
  return "|".join(class_names[i] for i in label)


def manifest_csv(rows, header: bool = True) -> str:
  """CSV text of (source_id, patient_group, split, label) rows."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  if header:
    writer.writerow(MANIFEST_COLUMNS)
  writer.writerows(rows)
  return out.getvalue()


def read_manifest(path: str) -> List[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))
