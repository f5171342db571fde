"""Fuzzing validators: `validate` returns a canonical value or raises ValidationError.

Arguments reach `validate` straight from clients (after wire decoding) and from
other functions (any Python value), so whatever the validator and the value,
it must answer with the documented ValidationError (which says where and why)
and nothing else. What it accepts is canonical: validating it again changes
nothing. Validator JSON (from a push) rebuilds or raises SchemaError.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncline.errors import InvalidValueError, SchemaError, ValidationError
from syncline.schema.validators import Validator, v, validator_from_json
from syncline.values import encode_id, from_json, new_internal_id, normalize
from tests.fuzz.strategies import field_names, json_values, nested, note_event, python_values
from tests.values.values_strategies import identical

FUZZ = settings(max_examples=600, deadline=None)
TABLE_IDS = {0: "users", 1: "messages"}  # table number -> name, for `id_table`
USER_ID = encode_id(0, new_internal_id())


def id_table(value: str) -> str | None:
    from syncline.values import decode_id

    try:
        return TABLE_IDS.get(decode_id(value)[0])
    except InvalidValueError:
        return None


def _names() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["a", "b", "numItems", "cursor"]),
                     st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                             min_size=1, max_size=6).filter(lambda n: n[0] != "$"))


leaf_validators = st.one_of(
    st.sampled_from([v.string(), v.number(), v.int64(), v.boolean(), v.null(), v.bytes(),
                     v.any(), v.id("users"), v.id("messages")]),
    st.one_of(st.text(max_size=5), st.booleans(), st.floats(),
              st.integers(min_value=-(2**53), max_value=2**53)).map(v.literal),
)


def _composite(children: st.SearchStrategy[Validator]) -> st.SearchStrategy[Validator]:
    record_keys = st.sampled_from([v.string(), v.id("users"), v.union(v.string(), v.id("users"))])
    fields = st.dictionaries(_names(), st.tuples(children, st.booleans()), max_size=4).map(
        lambda fs: v.object({n: v.optional(f) if opt else f for n, (f, opt) in fs.items()}))
    return st.one_of(children.map(v.array), fields,
                     st.builds(v.record, record_keys, children),
                     st.lists(children, max_size=3).map(lambda ms: v.union(*ms)))


validators = st.recursive(leaf_validators, _composite, max_leaves=8)


@st.composite
def matching_values(draw: st.DrawFn, validator: Validator) -> Any:
    """A value shaped like `validator` wants, with a chance of a wrong piece anywhere."""
    if draw(st.integers(0, 9)) == 0:
        return draw(python_values)
    kind = validator.kind
    if kind == "array":
        return draw(st.lists(matching_values(validator.element), max_size=3))
    if kind == "object":
        out = {}
        for name, field in validator.fields.items():
            if not (field.is_optional and draw(st.booleans())):
                out[name] = draw(matching_values(field.as_required()))
        if draw(st.integers(0, 4)) == 0:
            out[draw(field_names)] = draw(python_values)
        return out
    if kind == "record":
        keys = st.one_of(field_names, st.sampled_from([USER_ID, "_id", 1, None]))
        return draw(st.dictionaries(keys, matching_values(validator.values), max_size=3))
    if kind == "union":
        if not validator.members:
            return draw(python_values)
        return draw(matching_values(draw(st.sampled_from(validator.members))))
    if kind == "literal":
        return validator.value
    if kind == "id":
        return draw(st.sampled_from([USER_ID, encode_id(1, new_internal_id()), "not an id"]))
    return draw(python_values)


def validate_or_refuse(validator: Validator, value: Any, *, canonical: bool = True,
                       **options: Any) -> Any:
    """The canonical value, or None after a ValidationError with a message."""
    try:
        out = validator.validate(value, **options)
    except ValidationError as e:
        assert str(e)
        note_event("refused")
        return None
    note_event("accepted")
    if not canonical:
        return out
    # Accepted: canonical (normalize leaves it as it is) and validating it again is a no-op.
    assert identical(normalize(out), out)
    assert identical(validator.validate(out, **options), out)
    return out


@FUZZ
@given(st.data(), validators)
def test_validate_answers_a_value_or_a_validation_error(data: st.DataObject,
                                                        validator: Validator) -> None:
    value = data.draw(matching_values(validator))
    validate_or_refuse(validator, value)
    validate_or_refuse(validator, value, id_table=id_table)
    assert isinstance(validator.is_valid(value), bool)


@FUZZ
@given(validators, json_values)
def test_validate_takes_any_wire_value(validator: Validator, obj: Any) -> None:
    try:
        value = from_json(obj)
    except InvalidValueError:
        return
    validate_or_refuse(validator, value, id_table=id_table)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=1500), st.booleans(),
       st.sampled_from([v.any(), v.array(v.any()), v.union(v.string(), v.any()),
                        v.record(v.string(), v.any())]))
@example(depth=1000, as_object=False, validator=v.any())
def test_validate_refuses_any_depth_with_a_validation_error(depth: int, as_object: bool,
                                                            validator: Validator) -> None:
    """A function may pass another function any Python value: however deep, `validate`
    answers (the limits, 16 levels, are checked after it)."""
    value = {"a": nested(depth, None, as_object=as_object)}
    # (Comparing 1,000 levels would overflow the test's own stack: no canonical check.)
    validate_or_refuse(validator, value, canonical=False)


def test_validate_refuses_a_cycle_with_a_validation_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    assert validate_or_refuse(v.any(), cycle) is None
    assert validate_or_refuse(v.array(v.any()), cycle) is None


@FUZZ
@given(validators)
def test_validator_json_round_trip(validator: Validator) -> None:
    assert validator_from_json(validator.to_json()) == validator


@FUZZ
@given(st.one_of(json_values, st.text(max_size=50)))
def test_validator_json_takes_any_json(obj: Any) -> None:
    try:
        validator = validator_from_json(obj)
    except SchemaError as e:
        assert str(e)
        return
    assert validator_from_json(validator.to_json()) == validator
