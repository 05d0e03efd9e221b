import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridpilot.timeutil import epoch_seconds

# From 1973 (1e8 s) to the year 5138 (just under 1e11 s): every plausible instant.
SECONDS = st.integers(min_value=100_000_000, max_value=99_999_999_999)


@given(SECONDS)
def test_seconds_and_milliseconds_name_the_same_instant(t_s: int) -> None:
    assert epoch_seconds(t_s) == t_s
    assert epoch_seconds(t_s * 1000) == t_s
    assert epoch_seconds(t_s * 1000 + 999) == pytest.approx(t_s + 0.999, abs=1e-6)
