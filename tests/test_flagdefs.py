"""flagdefs.py: one dataclass field -> one absl flag, and back to the dataclass."""
import dataclasses
from typing import List, Optional

import pytest
from absl import flags

import flagdefs
from flagdefs import option


@dataclasses.dataclass
class Inner:
  rate: float = option("A rate.", default=0.5)
  kind: str = option("A kind.", default="a", enum=("a", "b"))
  copied: int = 3                       # not a flag


@dataclasses.dataclass
class Outer:
  where: str = option("Where.", flag_default="/tmp/x")
  steps: Optional[int] = option("Steps.", default=None)
  on: bool = option("On.", default=False, flag_name="switch_on")
  hosts: List[str] = option("Hosts.", default_factory=list)
  inner: Inner = dataclasses.field(default_factory=Inner)
  extra: dict = dataclasses.field(default_factory=dict)   # not a flag


def _defined():
  values = flags.FlagValues()
  names = flagdefs.define(Outer, values, module_name="some_script.py")
  return values, names


def test_define_makes_one_flag_per_option_field_with_its_kind():
  values, names = _defined()
  assert names == ["where", "steps", "switch_on", "hosts", "rate", "kind"]
  assert [f.name for f in values.flags_by_module_dict()["some_script.py"]] == names
  assert values["where"].default == "/tmp/x" and values["where"].help == "Where."
  assert values["steps"].flag_type() == "int" and values["steps"].default is None
  assert values["switch_on"].boolean
  assert isinstance(values["hosts"].parser, flags.ListParser)
  assert values["kind"].parser.enum_values == ["a", "b"]
  assert values["rate"].flag_type() == "float"


def test_define_attributes_flags_to_the_calling_module():
  values = flags.FlagValues()
  flagdefs.define(Inner, values)
  assert [f.name for f in values.flags_by_module_dict()[__name__]] == ["rate", "kind"]


def test_build_takes_every_option_from_the_parsed_flags():
  values, _ = _defined()
  values(["prog", "--where=/data", "--steps=7", "--switch_on", "--hosts=a:1,b:2",
          "--rate=0.25", "--kind=b"])
  built = flagdefs.build(Outer, values, extra={"k": 1})
  assert built == Outer(where="/data", steps=7, on=True, hosts=["a:1", "b:2"],
                        inner=Inner(rate=0.25, kind="b"), extra={"k": 1})
  assert built.inner.copied == 3


def test_build_refuses_a_flag_passed_as_a_value():
  values, _ = _defined()
  values(["prog"])
  with pytest.raises(TypeError, match="steps is a flag"):
    flagdefs.build(Outer, values, steps=3)
  with pytest.raises(TypeError, match="no field nope"):
    flagdefs.build(Outer, values, nope=3)


def test_a_type_without_an_absl_kind_is_refused():
  @dataclasses.dataclass
  class Odd:
    mapping: dict = option("No flag kind.", default_factory=dict)

  with pytest.raises(TypeError, match="mapping"):
    flagdefs.define(Odd, flags.FlagValues(), module_name="m")
