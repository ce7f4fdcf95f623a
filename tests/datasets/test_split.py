"""Split rules: patients never straddle splits, classes are stratified, seeds
reproduce, given splits are kept."""
import collections

import pytest

from datasets import split as split_lib
from datasets.sources.base import Record


def _singletons(counts):
  return [Record("%d_%d" % (c, i), "p%d_%d" % (c, i), (c,), "")
              for c, n in enumerate(counts) for i in range(n)]


def _pairs(num_patients):
  records = []
  for p in range(num_patients):
    grade = p % 5
    records.append(Record("%d_left" % p, "p%d" % p, (grade,), ""))
    records.append(Record("%d_right" % p, "p%d" % p, (min(4, grade + p % 2),), ""))
  return records


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.35])
def test_stratified_within_one_example_per_class(fraction):
  records = _singletons([40, 13, 7, 22, 3])
  splits = split_lib.assign(records, fraction, 0.0, seed=3)
  per_class = collections.Counter((r.label[0], s) for r, s in zip(records, splits))
  for c, n in enumerate([40, 13, 7, 22, 3]):
    assert abs(per_class[(c, "validation")] - fraction * n) <= 1.0, (c, per_class)


def test_three_way_split_stratified_and_sized():
  records = _singletons([50, 30, 20])
  splits = split_lib.assign(records, 0.2, 0.1, seed=0)
  counts = collections.Counter(splits)
  assert abs(counts["validation"] - 20) <= 2 and abs(counts["test"] - 10) <= 2
  for c, n in enumerate([50, 30, 20]):
    got = sum(1 for r, s in zip(records, splits) if r.label[0] == c and s == "test")
    assert abs(got - 0.1 * n) <= 1.0


def test_no_patient_in_two_splits_and_fraction_kept():
  records = _pairs(60)
  splits = split_lib.assign(records, 0.2, 0.2, seed=1)
  where = collections.defaultdict(set)
  for r, s in zip(records, splits):
    where[r.patient_group].add(s)
  assert all(len(s) == 1 for s in where.values())
  counts = collections.Counter(splits)
  assert 20 <= counts["validation"] <= 28 and 20 <= counts["test"] <= 28


def test_same_seed_same_split_other_seed_other_split():
  records = _pairs(50)
  a = split_lib.assign(records, 0.2, 0.0, seed=7)
  b = split_lib.assign(list(reversed(records)), 0.2, 0.0, seed=7)
  assert a == list(reversed(b))  # input order does not matter either
  c = split_lib.assign(records, 0.2, 0.0, seed=8)
  assert a != c


def test_given_splits_kept_and_validation_carved_only_when_missing():
  records = [Record("a%d" % i, "g%d" % i, (i % 2,), "", given_split=s)
             for i, s in enumerate(["train"] * 10 + ["validation"] * 3 + ["test"] * 3)]
  assert split_lib.assign(records, 0.2, 0.0, 0) == [r.given_split for r in records]
  no_val = [r for r in records if r.given_split != "validation"]
  splits = split_lib.assign(no_val, 0.2, 0.0, 0)
  assert splits[10:] == ["test"] * 3
  assert splits[:10].count("validation") == 2


def test_multilabel_patients_grouped_and_rare_finding_spread():
  records = []
  for p in range(40):
    labels = (0,) if p % 4 == 0 else ((1, 2) if p % 4 == 1 else ())
    records += [Record("%d_%d" % (p, k), "p%d" % p, labels, "") for k in range(2)]
  splits = split_lib.assign(records, 0.25, 0.0, seed=0, multilabel=True)
  where = collections.defaultdict(set)
  for r, s in zip(records, splits):
    where[r.patient_group].add(s)
  assert all(len(s) == 1 for s in where.values())
  val_with_0 = sum(1 for r, s in zip(records, splits) if s == "validation" and 0 in r.label)
  assert abs(val_with_0 - 0.25 * 20) <= 2


@pytest.mark.parametrize("val,test", [(-0.1, 0.0), (1.0, 0.0), (0.6, 0.5)])
def test_bad_fractions_are_rejected(val, test):
  with pytest.raises(ValueError):
    split_lib.assign(_singletons([5, 5]), val, test, 0)
