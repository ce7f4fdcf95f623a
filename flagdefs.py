"""Options declared once: a dataclass field is the option AND its absl flag.

A field made with ``option(help, ...)`` carries its flag's help text in its
metadata; the flag's name is the field's name (or ``flag_name``), its default
the field's default (or ``flag_default`` for a field the library requires,
such as ``train_dir``), and its kind follows the field's type:

  bool -> DEFINE_boolean    int -> DEFINE_integer    float -> DEFINE_float
  str  -> DEFINE_string, or DEFINE_enum with ``enum=(...)``
  List[str] -> DEFINE_list                 (Optional[...] of any of these too)

Two generic functions use the declarations:

  define(cls)            defines the absl flags of every option field of
                         ``cls`` (and of a nested dataclass field, e.g.
                         TrainConfig.optimizer), attributed to the calling
                         module so that --helpfull groups them under the script
  build(cls, parsed, **not_flags)
                         ``cls`` from parsed flags (nested dataclasses
                         included); fields that are not flags come from
                         ``not_flags`` or keep their defaults

A field without ``option`` metadata is not a flag. Nothing here knows any
particular option: adding one is one field (see docs/DESIGN.md).
"""
import dataclasses
import sys
import typing
from typing import Any, Dict, List, Optional, Sequence

from absl import flags

_KEY = "slim_med_flag"
_UNSET = object()   # flag_default not given: the field's default


@dataclasses.dataclass(frozen=True)
class FlagSpec:
  help: str
  name: Optional[str] = None          # default: the field's name
  enum: Optional[Sequence[str]] = None
  default: Any = _UNSET               # default: the field's default


def option(help: str, *, default=dataclasses.MISSING,
           default_factory=dataclasses.MISSING, flag_name: Optional[str] = None,
           enum: Optional[Sequence[str]] = None,
           flag_default=_UNSET):
  """A dataclass field that is also an absl flag (see the module docstring).

  ``flag_default`` is the flag's default for a field without one (a value
  the library requires but the script, as TF-Slim's, defaults)."""
  spec = FlagSpec(help=help, name=flag_name,
                  enum=tuple(enum) if enum is not None else None,
                  default=flag_default)
  return dataclasses.field(default=default, default_factory=default_factory,
                           metadata={_KEY: spec})


def flag_spec(field: dataclasses.Field) -> Optional[FlagSpec]:
  """The field's FlagSpec; None for a field that is not a flag."""
  return field.metadata.get(_KEY)


def flag_name(field: dataclasses.Field) -> str:
  spec = flag_spec(field)
  if spec is None:
    raise ValueError("%s is not a flag" % field.name)
  return spec.name or field.name


def _unwrap_optional(kind):
  if typing.get_origin(kind) is typing.Union:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if len(args) == 1:
      return args[0]
  return kind


def _nested(kind) -> Optional[type]:
  kind = _unwrap_optional(kind)
  return kind if dataclasses.is_dataclass(kind) and isinstance(kind, type) else None


def _walk(cls):
  """(field, spec, resolved type, nested dataclass or None) per field."""
  hints = typing.get_type_hints(cls)
  for field in dataclasses.fields(cls):
    kind = hints[field.name]
    yield field, flag_spec(field), kind, (None if flag_spec(field) else _nested(kind))


def flag_fields(cls) -> List[dataclasses.Field]:
  """The option fields of ``cls`` and of its nested dataclasses."""
  out = []
  for field, spec, _, nested in _walk(cls):
    if spec is not None:
      out.append(field)
    elif nested is not None:
      out.extend(flag_fields(nested))
  return out


def flag_names(cls) -> List[str]:
  return [flag_name(f) for f in flag_fields(cls)]


def _flag_default(field: dataclasses.Field, spec: FlagSpec):
  if spec.default is not _UNSET:
    return spec.default
  if field.default is not dataclasses.MISSING:
    return field.default
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  raise TypeError("option %s has no default: give it flag_default=" % field.name)


def _define_one(field, spec, kind, flag_values, module_name):
  name = spec.name or field.name
  default = _flag_default(field, spec)
  common = dict(flag_values=flag_values, module_name=module_name)
  base = _unwrap_optional(kind)
  if spec.enum is not None:
    if base is not str:
      raise TypeError("option %s: enum= needs a str field" % field.name)
    return flags.DEFINE_enum(name, default, list(spec.enum), spec.help, **common)
  if base is bool:
    return flags.DEFINE_boolean(name, default, spec.help, **common)
  if base is int:
    return flags.DEFINE_integer(name, default, spec.help, **common)
  if base is float:
    return flags.DEFINE_float(name, default, spec.help, **common)
  if base is str:
    return flags.DEFINE_string(name, default, spec.help, **common)
  if typing.get_origin(base) in (list, List) and typing.get_args(base) == (str,):
    return flags.DEFINE_list(name, default, spec.help, **common)
  raise TypeError("option %s: no absl flag kind for type %r" % (field.name, kind))


def _caller_module_name(depth: int) -> str:
  # absl's own rule (flags/_helpers.py): the main module is named by argv[0].
  name = sys._getframe(depth + 1).f_globals.get("__name__")  # pylint: disable=protected-access
  return sys.argv[0] if name == "__main__" else name


def define(cls, flag_values: flags.FlagValues = flags.FLAGS,
           module_name: Optional[str] = None) -> List[str]:
  """Defines the absl flag of every option field of ``cls`` (nested
  dataclasses included); returns their names. The flags belong to
  ``module_name``, default the calling module (a script's flags stay listed
  under the script in --helpfull)."""
  module_name = module_name or _caller_module_name(1)
  names = []
  for field, spec, kind, nested in _walk(cls):
    if spec is not None:
      _define_one(field, spec, kind, flag_values, module_name)
      names.append(spec.name or field.name)
    elif nested is not None:
      names.extend(define(nested, flag_values, module_name))
  return names


def build(cls, parsed: flags.FlagValues, /, **not_flags: Any):
  """An instance of ``cls`` whose option fields (nested ones included) have
  the ``parsed`` flags' values; ``not_flags`` sets fields that are not flags."""
  values: Dict[str, Any] = {}
  for field, spec, _, nested in _walk(cls):
    if spec is not None:
      if field.name in not_flags:
        raise TypeError("%s is a flag (--%s), not a build() argument"
                        % (field.name, spec.name or field.name))
      values[field.name] = parsed[spec.name or field.name].value
    elif nested is not None and flag_fields(nested):
      if field.name in not_flags:
        raise TypeError("%s is built from flags, not a build() argument"
                        % field.name)
      values[field.name] = build(nested, parsed)
    elif field.name in not_flags:
      values[field.name] = not_flags[field.name]
  unknown = set(not_flags) - {f.name for f in dataclasses.fields(cls)}
  if unknown:
    raise TypeError("%s has no field %s" % (cls.__name__, ", ".join(sorted(unknown))))
  return cls(**values)
