"""The shared attrs validators (framework/validators.py): what each accepts, what it rejects,
and that the message names the attribute and the value."""

import math

import attrs
import numpy as np
import pytest

from s1da.framework import validators

ACCEPTS = {
    validators.finite_positive: [1e-300, 1, 2.5, np.float32(3.0), np.int64(4)],
    validators.finite_non_negative: [0, 0.0, 1e300, np.float64(2.0)],
    validators.non_negative: [0, 2.5, math.inf],
    validators.unit_interval: [1e-12, 0.5, 1, 1.0],
    validators.positive_int: [1, 7, np.int32(3)],
}
REJECTS = {
    validators.finite_positive: [0, -1.0, math.nan, math.inf, True, "1", None],
    validators.finite_non_negative: [-1e-300, math.nan, math.inf, False, "0"],
    validators.non_negative: [-1, math.nan, -math.inf, True, "2"],
    validators.unit_interval: [0, 1.0000001, -0.5, math.nan, True, "0.5"],
    validators.positive_int: [0, -3, 1.0, 2.5, True, "1"],
}


def _holder(validator):
    return attrs.make_class("Holder", {"depth": attrs.field(validator=validator)})


@pytest.mark.parametrize("validator,value", [(v, x) for v, xs in ACCEPTS.items() for x in xs])
def test_validators_accept(validator, value):
    assert _holder(validator)(value).depth is value


@pytest.mark.parametrize("validator,value", [(v, x) for v, xs in REJECTS.items() for x in xs])
def test_validators_reject_naming_the_attribute_and_value(validator, value):
    with pytest.raises(ValueError, match=r"^depth must be .*, got ") as caught:
        _holder(validator)(value)
    assert repr(value) in str(caught.value)
