"""Tests of the forcing perturber against docs/model/perturbations.md (d)."""

from __future__ import annotations

import copy
import math

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from s1da.components.perturbers import (
    LDAS_CORRELATION,
    ForcingPerturbationParameters,
    ForcingPerturber,
)
from s1da.framework.interfaces import Perturber

ENTROPY = 20220101


def constant_forcing(n_days: int, n_sites: int, precipitation=2.0, temperature=10.0, radiation=120.0):
    return {
        "precipitation": np.full((n_days, n_sites), precipitation),
        "air_temperature": np.full((n_days, n_sites), temperature),
        "net_radiation": np.full((n_days, n_sites), radiation),
    }


def varied_forcing(n_days: int, site_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Deterministic forcing that differs by site id (so chunking tests use per-site values)."""
    days = np.arange(n_days)[:, None]
    ids = np.asarray(site_ids)[None, :]
    return {
        "precipitation": np.where((days + ids) % 3 == 0, 0.0, 1.0 + (days * 7 + ids) % 11),
        "air_temperature": 12.0 + 8.0 * np.sin(days / 58.0 + ids),
        "net_radiation": -20.0 + ((days * 13 + ids * 5) % 200),
        "lai": 0.5 + 0.01 * ids + 0.0 * days,
    }


def recover_standard_normals(params, forcing_day, perturbed):
    """u per variable from perturbed forcing (inverse of docs/model/perturbations.md d.5)."""
    u = {}
    u["precipitation"] = (
        np.log(perturbed["precipitation"] / forcing_day["precipitation"]) - params.precipitation_log_mean
    ) / params.precipitation_log_sd
    u["air_temperature"] = (perturbed["air_temperature"] - forcing_day["air_temperature"]) / params.air_temperature_sd
    u["net_radiation"] = (perturbed["net_radiation"] / forcing_day["net_radiation"] - 1.0) / params.net_radiation_relative_sd
    return u


def truncated_moments(function, scale: float, truncation: float) -> tuple[float, float]:
    """Mean and SD of function(clip(scale*g, -a, a)) for g ~ N(0,1), by quadrature."""

    def moment(power):
        inner, _ = integrate.quad(lambda x: function(x) ** power * stats.norm.pdf(x, scale=scale), -truncation, truncation)
        tail = stats.norm.sf(truncation, scale=scale)
        return inner + tail * (function(truncation) ** power + function(-truncation) ** power)

    mean = moment(1)
    return mean, math.sqrt(moment(2) - mean**2)


# --- golden values and parameters -------------------------------------------------------------
def test_golden_log_normal_parameters():
    params = ForcingPerturbationParameters()
    assert params.precipitation_log_sd == pytest.approx(0.29356, abs=5e-6)
    assert params.precipitation_log_mean == pytest.approx(-0.043089, abs=5e-7)
    # analytic mean-one property E[exp(mu + s u)] = 1 for u ~ N(0,1)
    assert math.exp(params.precipitation_log_mean + params.precipitation_log_sd**2 / 2) == pytest.approx(1.0, abs=1e-15)


def test_defaults_are_rains_2022():
    params = ForcingPerturbationParameters()
    assert params.variables == ("precipitation", "air_temperature", "net_radiation")
    assert (params.precipitation_relative_sd, params.air_temperature_sd, params.net_radiation_relative_sd) == (0.3, 2.5, 0.3)
    assert params.correlation_time == 1.0 and params.truncation == 2.5
    assert params.autoregression_coefficient == pytest.approx(math.exp(-1.0))
    assert isinstance(ForcingPerturber(entropy=1), Perturber)


def test_every_parameter_declares_units():
    for field in attrs.fields(ForcingPerturbationParameters):
        assert "units" in field.metadata, field.name


def test_spec_claims_about_truncation_effect():
    """docs/model/perturbations.md d: truncation at 2.5 lowers the P-factor SD by ~2 % and the mean by "< 0.1 %".

    The exact mean reduction is 0.104 % (spec rounds it); the SD reduction is 1.9 %.
    """
    params = ForcingPerturbationParameters()
    factor = lambda u: math.exp(params.precipitation_log_mean + params.precipitation_log_sd * u)  # noqa: E731
    mean, sd = truncated_moments(factor, 1.0, 2.5)
    assert 0.0005 < 1.0 - mean < 0.0015
    assert 0.97 < sd / 0.3 < 0.99


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variables": ("precipitation", "snowfall")}, "unknown perturbed variable"),
        ({"variables": ("precipitation", "precipitation")}, "duplicate"),
        ({"variables": ()}, "at least one"),
        ({"precipitation_relative_sd": -0.1}, "precipitation_relative_sd"),
        ({"air_temperature_sd": float("nan")}, "air_temperature_sd"),
        ({"correlation_time": -1.0}, "correlation_time"),
        ({"time_step": 0.0}, "time_step"),
        ({"truncation": 0.0}, "truncation"),
        ({"block_days": 0}, "block_days"),
        ({"net_radiation_relative_sd": 0.5}, "sign of R_n"),
        ({"correlation": "gaussian"}, "unknown preset"),
        ({"correlation": [[1.0, 0.2], [0.2, 1.0]]}, "does not match"),
        ({"correlation": [[1, 0.1, 0], [0.2, 1, 0], [0, 0, 1]]}, "not symmetric"),
        ({"correlation": [[2, 0, 0], [0, 1, 0], [0, 0, 1]]}, "diagonal"),
        ({"correlation": [[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]]}, "positive definite"),
        ({"correlation": [[1, np.nan, 0], [np.nan, 1, 0], [0, 0, 1]]}, "non-finite"),
        ({"square_root": "svd"}, "square_root"),
        ({"missing_allowed": ("precipitation",)}, "may not hold NaN"),
    ],
)
def test_invalid_parameters_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ForcingPerturbationParameters(**kwargs)


def test_ldas_preset_and_subsets():
    full = ForcingPerturbationParameters(correlation="ldas").correlation_matrix()
    np.testing.assert_array_equal(full, np.asarray(LDAS_CORRELATION))
    np.testing.assert_allclose(np.linalg.eigvalsh(full), [0.106, 1.0, 1.894], atol=1e-3)
    sub = ForcingPerturbationParameters(variables=("net_radiation", "precipitation"), correlation="ldas")
    np.testing.assert_array_equal(sub.correlation_matrix(), [[1.0, -0.8], [-0.8, 1.0]])


@pytest.mark.parametrize("square_root", ["cholesky", "eigen"])
def test_square_root_reproduces_correlation(square_root):
    params = ForcingPerturbationParameters(correlation="ldas", square_root=square_root)
    s = params.correlation_square_root()
    np.testing.assert_allclose(s @ s.T, params.correlation_matrix(), atol=1e-12)


# --- statistics -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def white_sample():
    """tau = 0, 40 sites x 32 members x 200 days of unit forcing."""
    params = ForcingPerturbationParameters(correlation_time=0.0)
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    forcing = constant_forcing(200, 40, precipitation=1.0, temperature=0.0, radiation=1.0)
    out, _ = perturber.perturb_period(forcing, np.arange(40), 32)
    return params, out


def test_factor_mean_and_sd_match_truncated_expectation(white_sample):
    """Sample mean and SD of the factors vs. their exact values under centring and truncation.

    Centring over N members gives u a marginal variance (N-1)/N (module docstring); the
    truncated moments are computed by quadrature.  Tolerance: about 5 standard errors.
    """
    params, out = white_sample
    n = 32
    scale = math.sqrt((n - 1) / n)
    a = params.truncation
    p_mean, p_sd = truncated_moments(
        lambda u: math.exp(params.precipitation_log_mean + params.precipitation_log_sd * u), scale, a
    )
    r_mean, r_sd = truncated_moments(lambda u: 1.0 + params.net_radiation_relative_sd * u, scale, a)
    t_mean, t_sd = truncated_moments(lambda u: params.air_temperature_sd * u, scale, a)
    # The exact values are close to the nominal ones (mean one, SD 0.3 / 2.5).  For N = 32 the
    # P-factor mean is 0.99776: -0.13 % from centring (variance 31/32 with mu_P = -s_P^2/2) and
    # -0.10 % from truncation.
    assert abs(p_mean - 1) < 3e-3 and 0.28 < p_sd < 0.3
    assert r_mean == pytest.approx(1.0, abs=1e-12) and 0.29 < r_sd < 0.3
    size = out["precipitation"].size
    for values, mean, sd in [
        (out["precipitation"], p_mean, p_sd),
        (out["net_radiation"], r_mean, r_sd),
        (out["air_temperature"], t_mean, t_sd),
    ]:
        assert values.mean() == pytest.approx(mean, abs=5 * sd / math.sqrt(size))
        assert values.std() == pytest.approx(sd, rel=0.01)


def test_ensemble_spread_with_ddof_one_is_unbiased(white_sample):
    params, out = white_sample
    spread = out["air_temperature"].std(axis=1, ddof=1)  # (time, site)
    # truncation alone lowers the SD of a unit normal clipped at 2.5 by ~1.1 %
    _, clipped_sd = truncated_moments(lambda u: u, 1.0, params.truncation)
    expected = params.air_temperature_sd * clipped_sd
    assert math.sqrt((spread**2).mean()) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("tau", [0.0, 1.0, 3.0])
def test_lag_one_autocorrelation_of_ar_state(tau):
    params = ForcingPerturbationParameters(correlation_time=tau)
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    site_ids = np.arange(20)
    state = perturber.initial_state(site_ids, 32)
    day = {k: v[0] for k, v in constant_forcing(1, 20).items()}
    z = []
    for t in range(300):
        _, state = perturber.perturb(day, t, state)
        z.append(state["ar_state"])
    z = np.stack(z)  # (time, site, variable, member)
    lag1 = np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]
    expected = 0.0 if tau == 0 else math.exp(-1.0 / tau)
    assert lag1 == pytest.approx(expected, abs=0.02)
    assert params.autoregression_coefficient == pytest.approx(expected)


def test_infinite_correlation_time_freezes_the_perturbation():
    perturber = ForcingPerturber(ForcingPerturbationParameters(correlation_time=math.inf), entropy=ENTROPY)
    out, _ = perturber.perturb_period(constant_forcing(5, 3), np.arange(3), 8)
    np.testing.assert_allclose(out["air_temperature"], np.broadcast_to(out["air_temperature"][0], (5, 8, 3)))


@pytest.mark.parametrize(
    "correlation",
    ["ldas", [[1.0, 0.5, 0.3], [0.5, 1.0, -0.2], [0.3, -0.2, 1.0]]],
)
@pytest.mark.parametrize("square_root", ["cholesky", "eigen"])
def test_requested_cross_correlation(correlation, square_root):
    params = ForcingPerturbationParameters(correlation=correlation, square_root=square_root)
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    forcing = constant_forcing(150, 30)
    out, _ = perturber.perturb_period(forcing, np.arange(30), 32)
    u = recover_standard_normals(params, {k: v[:, None, :] for k, v in forcing.items()}, out)
    sample = np.corrcoef(np.stack([u[name].ravel() for name in params.variables]))
    np.testing.assert_allclose(sample, params.correlation_matrix(), atol=0.03)


# --- invariants (property tests) ----------------------------------------------------------------
@given(
    entropy=st.integers(0, 2**63),
    n_members=st.integers(1, 9),
    n_sites=st.integers(1, 6),
    n_days=st.integers(1, 40),
    data=st.data(),
)
def test_invariants_hold_for_any_forcing(entropy, n_members, n_sites, n_days, data):
    finite = dict(allow_nan=False, allow_infinity=False)
    precipitation = data.draw(
        st.lists(st.one_of(st.just(0.0), st.floats(0, 500, **finite)), min_size=n_sites, max_size=n_sites)
    )
    radiation = data.draw(
        # |R_n| >= 1e-3: a subnormal R_n times a factor < 1 underflows to 0 (no sign flip)
        st.lists(st.floats(-300, 600, **finite).filter(lambda v: abs(v) >= 1e-3), min_size=n_sites, max_size=n_sites)
    )
    temperature = data.draw(st.lists(st.floats(-40, 45, **finite), min_size=n_sites, max_size=n_sites))
    site_ids = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=n_sites, max_size=n_sites, unique=True)))
    correlation = data.draw(st.sampled_from(["identity", "ldas"]))
    params = ForcingPerturbationParameters(correlation=correlation)
    perturber = ForcingPerturber(params, entropy=entropy)
    forcing = {
        "precipitation": np.tile(precipitation, (n_days, 1)),
        "air_temperature": np.tile(temperature, (n_days, 1)),
        "net_radiation": np.tile(radiation, (n_days, 1)),
    }
    state = perturber.initial_state(site_ids, n_members)
    for t in range(n_days):
        out, state = perturber.perturb({k: v[t] for k, v in forcing.items()}, t, state)
        p = out["precipitation"]
        assert p.shape == (n_members, n_sites)
        assert np.all(p >= 0)
        assert np.all(p[:, np.asarray(precipitation) == 0] == 0)
        assert np.all(np.sign(out["net_radiation"]) == np.sign(radiation))
        bound = params.air_temperature_sd * params.truncation * (1 + 1e-12)
        assert np.all(np.abs(out["air_temperature"] - np.asarray(temperature)) <= bound + 1e-9)
        if n_members > 2:
            np.testing.assert_allclose(state["ar_state"].mean(axis=-1), 0.0, atol=1e-12)


def test_ensemble_is_not_centred_for_two_members():
    perturber = ForcingPerturber(entropy=ENTROPY)
    _, state = perturber.perturb_period(constant_forcing(3, 4), np.arange(4), 2)
    assert np.all(np.abs(state["ar_state"].mean(axis=-1)) > 1e-6)


def test_pass_through_variables_are_broadcast_unchanged():
    perturber = ForcingPerturber(ForcingPerturbationParameters(variables=("precipitation",)), entropy=ENTROPY)
    site_ids = np.array([4, 9, 2])
    forcing = varied_forcing(10, site_ids)
    out, _ = perturber.perturb_period(forcing, site_ids, 5)
    for name in ("air_temperature", "net_radiation", "lai"):
        assert out[name].shape == (10, 5, 3)
        np.testing.assert_array_equal(out[name], np.broadcast_to(forcing[name][:, None, :], (10, 5, 3)))
    assert not np.allclose(out["precipitation"], forcing["precipitation"][:, None, :])


def test_precipitation_noise_does_not_depend_on_other_perturbed_variables():
    """With C = identity, the noise of P is the same whether or not T and R_n are perturbed."""
    site_ids = np.arange(3)
    forcing = varied_forcing(40, site_ids)
    alone = ForcingPerturber(ForcingPerturbationParameters(variables=("precipitation",)), entropy=ENTROPY)
    together = ForcingPerturber(entropy=ENTROPY)
    np.testing.assert_array_equal(
        alone.perturb_period(forcing, site_ids, 6)[0]["precipitation"],
        together.perturb_period(forcing, site_ids, 6)[0]["precipitation"],
    )


# --- reproducibility, chunking, checkpointing ---------------------------------------------------
def test_reproducible_bit_for_bit_and_seed_dependent():
    site_ids = np.arange(10)
    forcing = varied_forcing(70, site_ids)
    first, _ = ForcingPerturber(entropy=ENTROPY).perturb_period(forcing, site_ids, 8)
    second, _ = ForcingPerturber(entropy=ENTROPY).perturb_period(forcing, site_ids, 8)
    other, _ = ForcingPerturber(entropy=ENTROPY + 1).perturb_period(forcing, site_ids, 8)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.array_equal(first["precipitation"], other["precipitation"])


@pytest.mark.parametrize("correlation", ["identity", "ldas"])
def test_results_do_not_depend_on_site_chunking(correlation):
    params = ForcingPerturbationParameters(correlation=correlation, block_days=16)
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    all_sites = np.arange(10)
    forcing = varied_forcing(50, all_sites)
    full, _ = perturber.perturb_period(forcing, all_sites, 32)
    for subset in ([3, 7], [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [6], [9, 2, 5]):
        subset = np.array(subset)
        part, _ = perturber.perturb_period({k: v[:, subset] for k, v in forcing.items()}, subset, 32)
        for name in full:
            np.testing.assert_array_equal(part[name], full[name][:, :, subset], err_msg=f"{name} {subset}")


@pytest.mark.parametrize("fresh_perturber", [False, True])
def test_checkpoint_and_resume_is_bit_identical(fresh_perturber):
    params = ForcingPerturbationParameters(correlation="ldas", block_days=32)
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    site_ids = np.array([11, 5, 42])
    forcing = varied_forcing(100, site_ids)
    straight, _ = ForcingPerturber(params, entropy=ENTROPY).perturb_period(forcing, site_ids, 16)

    first_half, state = perturber.perturb_period({k: v[:50] for k, v in forcing.items()}, site_ids, 16)
    checkpoint = copy.deepcopy(state)
    # the state is small: AR memory and bookkeeping only (the noise cache is not in it)
    assert set(checkpoint) == {"site_ids", "n_members", "day_index", "started", "start_fixed", "ar_state", "clipped_values"}
    # as after a restart: a brand-new perturber object (empty cache) continues from the checkpoint
    resumed = ForcingPerturber(params, entropy=ENTROPY) if fresh_perturber else perturber
    second_half, _ = resumed.perturb_period({k: v[50:] for k, v in forcing.items()}, site_ids, 16, state=checkpoint)
    for name in straight:
        np.testing.assert_array_equal(np.concatenate([first_half[name], second_half[name]]), straight[name])


def test_shared_perturber_with_evicting_cache_and_threads():
    """Chunks interleaved on one perturber (cache of 1, threads) give the unchunked numbers."""
    from concurrent.futures import ThreadPoolExecutor

    params = ForcingPerturbationParameters(block_days=4)
    site_ids = np.arange(6)
    forcing = varied_forcing(20, site_ids)
    full, _ = ForcingPerturber(params, entropy=ENTROPY).perturb_period(forcing, site_ids, 8)
    shared = ForcingPerturber(params, entropy=ENTROPY)
    shared.cache_size = 1
    chunks = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5])]
    states = [shared.initial_state(chunk, 8) for chunk in chunks]
    for t in range(20):  # interleaved: every call evicts the other chunks' blocks
        for i, chunk in enumerate(chunks):
            out, states[i] = shared.perturb({k: v[t, chunk] for k, v in forcing.items()}, t, states[i])
            np.testing.assert_array_equal(out["precipitation"], full["precipitation"][t][:, chunk])

    def run(chunk):
        return shared.perturb_period({k: v[:, chunk] for k, v in forcing.items()}, chunk, 8)[0]

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(run, chunks))
    for chunk, result in zip(chunks, results):
        np.testing.assert_array_equal(result["net_radiation"], full["net_radiation"][:, :, chunk])


def test_first_day_is_free_unless_start_day_is_given():
    perturber = ForcingPerturber(entropy=ENTROPY)
    day = {k: v[0] for k, v in constant_forcing(1, 2).items()}
    state = perturber.initial_state(np.arange(2), 4)
    _, state = perturber.perturb(day, 17, state)
    with pytest.raises(ValueError, match="needs the perturber state of day 18, but the state is at day 17"):
        perturber.perturb(day, 17 + 1 + 1, state)
    _, state = perturber.perturb(day, 18, state)
    with pytest.raises(ValueError, match="day_index must be >= 0"):
        perturber.perturb(day, -1, perturber.initial_state(np.arange(2), 4))
    with pytest.raises(ValueError, match="start_day"):
        perturber.initial_state(np.arange(2), 4, start_day=-2)


def test_perturb_does_not_modify_its_input_state():
    perturber = ForcingPerturber(entropy=ENTROPY)
    _, state = perturber.perturb_period(constant_forcing(3, 2), np.arange(2), 4)
    before = copy.deepcopy(state)
    perturber.perturb({k: v[0] for k, v in constant_forcing(1, 2).items()}, 3, state)
    for key in before:
        np.testing.assert_array_equal(state[key], before[key])


def test_start_day_keys_the_noise_by_absolute_day():
    """Starting at day 40 gives the draws of day 40 (z_0 = xi_40), i.e. noise is keyed by day."""
    params = ForcingPerturbationParameters(correlation_time=0.0)
    site_ids = np.arange(3)
    forcing = varied_forcing(45, site_ids)
    from_zero, _ = ForcingPerturber(params, entropy=ENTROPY).perturb_period(forcing, site_ids, 4)
    late, _ = ForcingPerturber(params, entropy=ENTROPY).perturb_period(
        {k: v[40:] for k, v in forcing.items()}, site_ids, 4, start_day=40
    )
    np.testing.assert_array_equal(late["air_temperature"], from_zero["air_temperature"][40:])


# --- error paths --------------------------------------------------------------------------------
def test_day_index_must_follow_the_state():
    perturber = ForcingPerturber(entropy=ENTROPY)
    day = {k: v[0] for k, v in constant_forcing(1, 2).items()}
    state = perturber.initial_state(np.arange(2), 4, start_day=0)
    with pytest.raises(ValueError, match="state of day 0, but the state is at day -1"):
        perturber.perturb(day, 1, state)
    _, state = perturber.perturb(day, 0, state)
    with pytest.raises(ValueError, match="needs the perturber state of day 2"):
        perturber.perturb(day, 3, state)
    with pytest.raises(ValueError, match="state is at day 0"):
        perturber.perturb(day, 0, state)
    with pytest.raises(TypeError, match="day_index"):
        perturber.perturb(day, 1.0, state)


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("air_temperature", np.nan, r"'air_temperature' is not finite .* site id\(s\) \[17\]"),
        ("net_radiation", np.inf, r"'net_radiation' is not finite .* site id\(s\) \[17\]"),
        ("precipitation", -np.inf, r"'precipitation' is not finite"),
        ("precipitation", -0.5, r"'precipitation' is negative .* site id\(s\) \[17\]"),
        ("lai", np.nan, r"'lai' is not finite .* \[17\]"),
    ],
)
def test_bad_forcing_names_variable_and_site(variable, value, message):
    perturber = ForcingPerturber(entropy=ENTROPY)
    site_ids = np.array([3, 17, 8])
    day = {k: v[0].copy() for k, v in varied_forcing(1, site_ids).items()}
    day[variable][1] = value
    with pytest.raises(ValueError, match=message):
        perturber.perturb(day, 0, perturber.initial_state(site_ids, 4))


def test_missing_allowed_pass_through_may_hold_nan():
    assert ForcingPerturbationParameters().missing_allowed == ("vod", "swe")
    params = ForcingPerturbationParameters(missing_allowed=("vod",))
    perturber = ForcingPerturber(params, entropy=ENTROPY)
    day = {k: v[0] for k, v in constant_forcing(1, 2).items()} | {"swe": np.array([0.0, np.nan])}
    with pytest.raises(ValueError, match="'swe' is not finite"):
        perturber.perturb(day, 0, perturber.initial_state(np.arange(2), 3))
    day = {k: v[0] for k, v in constant_forcing(1, 2).items()} | {"vod": np.array([0.4, np.nan])}
    out, _ = perturber.perturb(day, 0, perturber.initial_state(np.arange(2), 3))
    assert np.isnan(out["vod"][:, 1]).all() and (out["vod"][:, 0] == 0.4).all()
    day["vod"] = np.array([np.inf, 0.1])
    with pytest.raises(ValueError, match="'vod' is not finite"):
        perturber.perturb(day, 0, perturber.initial_state(np.arange(2), 3))


def test_missing_variable_and_wrong_shape_are_errors():
    perturber = ForcingPerturber(entropy=ENTROPY)
    state = perturber.initial_state(np.arange(3), 4)
    day = {k: v[0] for k, v in constant_forcing(1, 3).items()}
    with pytest.raises(KeyError, match="net_radiation"):
        perturber.perturb({k: v for k, v in day.items() if k != "net_radiation"}, 0, state)
    with pytest.raises(ValueError, match=r"'air_temperature' has shape \(2,\)"):
        perturber.perturb(day | {"air_temperature": np.zeros(2)}, 0, state)


def test_bad_state_and_initial_state_arguments():
    perturber = ForcingPerturber(entropy=ENTROPY)
    day = {k: v[0] for k, v in constant_forcing(1, 3).items()}
    state = perturber.initial_state(np.arange(3), 4)
    with pytest.raises(KeyError, match="ar_state"):
        perturber.perturb(day, 0, {k: v for k, v in state.items() if k != "ar_state"})
    other = ForcingPerturber(ForcingPerturbationParameters(variables=("precipitation",)), entropy=ENTROPY)
    with pytest.raises(ValueError, match="other variables"):
        other.perturb(day, 0, state)
    for site_ids, n_members, message in [
        (np.array([1, 1]), 4, "duplicates"),
        (np.array([-1, 2]), 4, "non-negative"),
        (np.array([0.5, 2]), 4, "integers"),
        (np.zeros((2, 2), dtype=int), 4, "1-D"),
        (np.arange(2), 0, "n_members"),
    ]:
        with pytest.raises(ValueError, match=message):
            perturber.initial_state(site_ids, n_members)
    with pytest.raises(ValueError, match="entropy"):
        ForcingPerturber(entropy=-3)
