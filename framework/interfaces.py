"""The four seams of s1da: land model, observation operator, forcing perturber and filter.

Every concrete component in ``s1da.components`` implements one of these.  The experiment object
only talks to these methods, and a user who imports one piece (the DEnKF, the WCM) without the
containers only needs the class itself.

Array conventions (docs/architecture.md, "Interfaces"):

* Land-model state and forcing arrays are shaped ``(member, site, ...)``.
* Filter arrays are shaped ``(..., member, n)``: leading axes are independent batches (sites).
* Observation operators take a mapping of named inputs (:data:`OperatorInputs`) that broadcast
  over any leading axes; the *last* axis is ``site`` when the operator holds one parameter set
  per site.

Units: soil moisture m3 m-3, water fluxes mm d-1, stores mm, temperature degC, net radiation
W m-2 (daily mean), backscatter dB.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np

State = dict[str, np.ndarray]
"""Land-model state: named arrays shaped ``(member, site, ...)``."""

Forcing = Mapping[str, np.ndarray]
"""One day of forcing: named arrays shaped ``(member, site)`` (or ``(site,)`` before perturbation).

Standard names and units: ``precipitation`` mm d-1, ``air_temperature`` degC,
``net_radiation`` W m-2 (daily mean), ``vod`` (-), ``lai`` m2 m-2, ``swe`` mm (optional).
"""


class VariableInfo(NamedTuple):
    """What a component declares about one array it reports: dimension names in order, CF
    ``units`` and ``long_name``."""

    dims: tuple[str, ...]
    units: str
    long_name: str


BUDGET_FLUXES = ("total_water_storage", "precipitation", "total_evaporation", "deep_drainage", "surface_runoff")
"""Water-balance terms every :meth:`LandModel.step` returns, (member, site) each: closure
``storage(t) - storage(t-1) = P - E - D - Q`` is checked from them (mm, mm d-1)."""


class LandModel(abc.ABC):
    """A land-surface model advanced one day at a time, vectorised over members and sites.

    Callers (the experiment, the store, the engine) use: :attr:`reported_variables` to lay out
    the store, :attr:`layer_names` with :meth:`layer_soil_moisture`, :meth:`initial_state`,
    :meth:`step`, :meth:`surface_soil_moisture`, :meth:`analysis_variables` and
    :meth:`set_analysis_variables`.  A state is a mapping of named arrays, each with leading
    axes ``(member, site)``, stored and restored as it is (checkpoints): it must hold only
    numeric arrays, and a model restarted from it must continue bit for bit.
    """

    layer_names: tuple[str, ...] = ()
    """Soil layers reported by :meth:`layer_soil_moisture`; empty for a model without layers."""

    reported_variables: Mapping[str, VariableInfo] = {
        "total_water_storage": VariableInfo(("member", "site"), "mm", "total water storage"),
        "precipitation": VariableInfo(("member", "site"), "mm d-1", "precipitation"),
        "total_evaporation": VariableInfo(("member", "site"), "mm d-1", "total evaporation"),
        "deep_drainage": VariableInfo(("member", "site"), "mm d-1", "drainage out of the soil column"),
        "surface_runoff": VariableInfo(("member", "site"), "mm d-1", "surface runoff"),
    }
    """Fluxes and stores :meth:`step` returns (at least :data:`BUDGET_FLUXES`), by name: dims
    (``("member", "site")``), units and long name.  A model adds its own entries."""

    analysis_variables_units: str = "m3 m-3"
    """Units of the filter's state vector (:meth:`analysis_variables`)."""

    def layer_soil_moisture(self, state: State) -> np.ndarray:
        """Soil moisture per layer, m3 m-3, shaped ``(member, site, len(layer_names))``."""
        raise NotImplementedError(f"{type(self).__name__} reports no soil layers")

    # Optional: ``subset(site_indices) -> LandModel``, the same model for the sites at those
    # positions.  The engine needs it to cut a domain into tasks; a model without it runs all
    # its sites in one task.

    @abc.abstractmethod
    def initial_state(self, n_members: int) -> State:
        """Return the initial state for all sites, arrays shaped ``(member, site, ...)``."""

    @abc.abstractmethod
    def step(self, state: State, forcing: Forcing) -> tuple[State, dict[str, np.ndarray]]:
        """Advance one day.

        ``forcing`` holds arrays shaped ``(member, site)``.  Returns the new state and the day's
        fluxes, each shaped ``(member, site)`` in mm d-1 (or mm for storage), including at least
        ``total_water_storage``, ``precipitation``, ``total_evaporation``, ``deep_drainage`` and
        ``surface_runoff`` so that ``storage(t) - storage(t-1) = P - E - D - Q`` can be checked.
        The input state is not modified.
        """

    @abc.abstractmethod
    def surface_soil_moisture(self, state: State) -> np.ndarray:
        """Fraction-weighted 0-10 cm soil moisture, m3 m-3, shaped ``(member, site)``."""

    @abc.abstractmethod
    def analysis_variables(self, state: State) -> np.ndarray:
        """The filter's state vector, shaped ``(site, member, n_state)`` (m3 m-3).

        Which variables form the vector (top layer per fraction, the aggregate, all layers) is
        the model's configuration (docs/model/filters.md (c), option ``state``).
        """

    @abc.abstractmethod
    def set_analysis_variables(
        self, state: State, values: np.ndarray
    ) -> tuple[State, dict[str, np.ndarray]]:
        """Put an analysed state vector back, respecting each layer's bounds.

        ``values`` is shaped like :meth:`analysis_variables`.  Returns the new state and
        diagnostics shaped ``(member, site)``: ``analysis_increment`` (mm of storage actually
        added) and ``clipped_water`` (mm removed or added by clipping to the bounds).
        """

    # The analysis of one day touches only the sites observed that day (``sites``, positions,
    # increasing).  A model may override these three with cheaper ones; each must give, at those
    # sites, the numbers of its full-domain counterpart bit for bit.

    def surface_soil_moisture_at(self, state: State, sites: np.ndarray) -> np.ndarray:
        """:meth:`surface_soil_moisture` at the sites ``sites`` only, ``(member, len(sites))``."""
        return self.surface_soil_moisture(state)[:, sites]

    def analysis_variables_at(self, state: State, sites: np.ndarray) -> np.ndarray:
        """:meth:`analysis_variables` at the sites ``sites`` only, ``(len(sites), member, n_state)``."""
        return self.analysis_variables(state)[sites]

    def set_analysis_variables_at(
        self, state: State, values: np.ndarray, sites: np.ndarray
    ) -> tuple[State, dict[str, np.ndarray]]:
        """:meth:`set_analysis_variables` with analysed ``values`` at the sites ``sites`` only
        (shaped like :meth:`analysis_variables_at`); the other sites keep their state.  The
        diagnostics are ``(member, len(sites))``.  This default puts the vector back through
        :meth:`set_analysis_variables` with the other sites' vectors unchanged."""
        full = np.array(self.analysis_variables(state), dtype="float64")
        full[sites] = values
        new_state, changes = self.set_analysis_variables(state, full)
        return new_state, {name: np.asarray(value)[:, sites] for name, value in changes.items()}


class CalibrationWarning(UserWarning):
    """A per-site calibration finding that does not stop the fit (a parameter on its bound, ...).

    ``kind`` names the finding in a few words, so that callers can count the warnings per kind.
    """

    kind: str = "calibration warning"


OPERATOR_INPUTS: Mapping[str, str] = {
    "soil_moisture": "m3 m-3",
    "lai": "m2 m-2",
    "vod": "1",
    "incidence_angle": "degree",
    "day_of_year": "1",
}
"""Standard names and units of observation-operator inputs (``day_of_year`` counts 1..366)."""

OperatorInputs = Mapping[str, np.ndarray]
"""Named operator inputs (names and units of :data:`OPERATOR_INPUTS`), arrays that broadcast together.

For ``fit`` each is shaped ``(time,)`` (one site) or ``(site, time)``; for ``predict`` each is
shaped ``(..., site)`` (e.g. ``(member, site)``), or any shape for an operator fitted on one site.
"""


class ObservationOperator(abc.ABC):
    """Forward model h(inputs) -> backscatter (dB), calibrated per site.

    An operator declares the inputs it needs in ``required_inputs`` and those it uses when they
    are given in ``optional_inputs`` (name -> units, names from :data:`OPERATOR_INPUTS`).  The
    experiment builds the mapping from what the land model and the data provide
    (:meth:`select_inputs`), so a new operator needs no change to the experiment.  Every site's
    result is a function of that site's data only: fitting any subset of sites gives the same
    numbers for each of them, bit for bit.
    """

    required_inputs: ClassVar[Mapping[str, str]] = {"soil_moisture": "m3 m-3", "lai": "m2 m-2"}
    optional_inputs: ClassVar[Mapping[str, str]] = {}
    min_samples: int = 10
    """Fewest valid samples a site needs for ``fit``."""

    @abc.abstractmethod
    def fit(
        self,
        inputs: OperatorInputs,
        backscatter_db: np.ndarray,
        valid: np.ndarray | None = None,
        *,
        site_ids: np.ndarray | None = None,
        progress: str | None = None,
    ) -> ObservationOperator:
        """Calibrate and return a new fitted operator (this configuration object is unchanged).

        ``inputs`` and ``backscatter_db`` are shaped ``(time,)`` for one site or ``(site, time)``;
        backscatter in dB, NaN where there is no observation.  ``valid`` (same shape, bool)
        restricts the samples further (default: every finite backscatter).  Any non-finite or
        out-of-range input at a used sample, too few samples, or a fit with zero or non-finite
        residual variance is a ``ValueError`` naming the site.  ``site_ids`` labels the sites
        (default ``0..n-1``) in messages and in :meth:`to_dataset`.  ``progress`` names a progress
        bar of sites done (none when None).  Per-site findings that do not stop the fit are
        reported as :class:`CalibrationWarning`.
        """

    @abc.abstractmethod
    def predict(self, inputs: OperatorInputs) -> np.ndarray:
        """Backscatter in dB shaped like the broadcast inputs ``(..., site)``.

        A non-finite or out-of-range input is a ``ValueError`` naming the input and the site.
        """

    def sensitivity(self, inputs: OperatorInputs, step: float = 1e-3) -> np.ndarray:
        """d sigma0 / d soil moisture, dB per m3 m-3, shaped like :meth:`predict`.

        Default: central finite difference of :meth:`predict` with ``step`` (m3 m-3), one-sided
        at the ends of [0, 1].
        """
        soil_moisture = np.asarray(inputs["soil_moisture"], dtype=float)
        upper = np.minimum(soil_moisture + step, 1.0)
        lower = np.maximum(soil_moisture - step, 0.0)
        high = self.predict({**inputs, "soil_moisture": upper})
        low = self.predict({**inputs, "soil_moisture": lower})
        return (high - low) / (upper - lower)

    @property
    @abc.abstractmethod
    def error_variance(self) -> np.ndarray:
        """Observation error variance R per site, dB^2, shaped ``(site,)``: the mean-square
        calibration residual (the paper's R), finite and positive."""

    @property
    @abc.abstractmethod
    def site_ids(self) -> np.ndarray:
        """Site labels of the fit, shaped ``(site,)``, in the order of the ``site`` axis."""

    @abc.abstractmethod
    def to_dataset(self) -> Any:
        """Fitted parameters as an ``xarray.Dataset`` with dimension ``site`` (for the store);
        every variable has ``units`` and ``long_name``."""

    @classmethod
    @abc.abstractmethod
    def from_dataset(cls, dataset: Any) -> ObservationOperator:
        """Rebuild the fitted operator from :meth:`to_dataset` output, without refitting;
        predictions are bit-identical to the operator that wrote it."""

    @classmethod
    def select_inputs(cls, available: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The operator's inputs out of everything ``available``: every required name (a missing
        one is a ``KeyError`` naming it and its units) and the optional names present."""
        missing = [name for name in cls.required_inputs if name not in available]
        if missing:
            needed = ", ".join(f"{name} ({cls.required_inputs[name]})" for name in missing)
            raise KeyError(f"{cls.__name__} needs input(s) {needed}; available: {', '.join(sorted(available)) or 'none'}")
        wanted = [*cls.required_inputs, *(name for name in cls.optional_inputs if name in available)]
        return {name: available[name] for name in wanted}


class Perturber(abc.ABC):
    """Turns one day of site forcing into member forcing, with its own AR(1) memory.

    State contract: :meth:`initial_state` and :meth:`perturb` exchange a mapping of named numeric
    arrays (leading axes free, e.g. ``(variable, member, site)``) that callers store with the
    model state in checkpoints and hand back unchanged; a perturber restarted from a stored
    state continues bit for bit.  The state holds no generator objects: noise is re-derived
    from (seed, site id, purpose, day) each day.
    """

    @abc.abstractmethod
    def initial_state(self, site_ids: np.ndarray, n_members: int) -> dict[str, np.ndarray]:
        """Memory of the perturbation processes before the first day.

        ``site_ids`` (site,) integers; ``n_members`` >= 1.  Arrays of the state carry the site
        axis last, so a subset of sites is a slice of the state.
        """

    @abc.abstractmethod
    def perturb(
        self, forcing: Forcing, day_index: int, state: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Perturb one day.

        ``forcing`` holds arrays shaped ``(site,)``; the result holds arrays shaped
        ``(member, site)`` in the same units (see :data:`Forcing`), plus the new perturber
        state (the input state is not modified).  ``day_index`` counts days from the epoch of
        the randomness (``framework.randomness``).  Noise is keyed by (seed, site id, purpose,
        day block), never by a position, so that any subset or chunking of sites gives the same
        numbers.
        """

    def for_sites(self, site_ids: np.ndarray) -> Perturber:
        """The perturber of a task over the sites ``site_ids`` (ids, ``(site,)``): the same
        numbers there, holding nothing of the other sites (what travels to a worker and stays in
        its memory follows the task, not the domain).  This default is the perturber itself."""
        return self


class FilterDiagnostics(Protocol):
    """What :attr:`Filter.diagnostics` holds after a call (``...`` = batch axes, ``p`` observations,
    ``n`` state size); callers read at least ``innovation`` and ``normalised_innovation``."""

    innovation: np.ndarray
    """(..., p) ``d - mean(y)`` in the observations' units; NaN where the observation is missing."""
    normalised_innovation: np.ndarray
    """(..., p) ``innovation / sqrt(var(y) + R)`` (member variance ddof = 1), 1; NaN where missing."""
    increment: np.ndarray
    """(..., n) analysis mean minus forecast mean, in the state's units (zero where not updated)."""
    forecast_spread: np.ndarray
    """(..., n) member standard deviation (ddof = 1) of the input states."""
    analysis_spread: np.ndarray
    """(..., n) member standard deviation (ddof = 1) of the analysed states."""


class Filter(abc.ABC):
    """Ensemble analysis, batched over any leading axes."""

    needs_rng: bool = False
    """True for filters that draw random numbers (perturbed observations): callers then pass
    ``rng``, an object array of ``numpy.random.Generator`` shaped like the batch axes (one per
    site, keyed by site and day), so results do not depend on chunking."""

    analyses_observed_sites_only: bool = True
    """True: the experiment hands :meth:`analyse` only the sites observed that day (a site's
    analysis depends on its own ensemble and observation alone) and cuts a per-site memory
    (``state``, arrays ``(site,)``) to them, so the memory of a site without an observation
    stays as it is.  A filter whose memory evolves on such sites sets it False and gets every site."""

    diagnostics: FilterDiagnostics | None = None
    """Diagnostics of the last :meth:`analyse` call (None before the first), see
    :class:`FilterDiagnostics`."""

    @abc.abstractmethod
    def analyse(
        self,
        states: np.ndarray,
        predicted: np.ndarray,
        observed: np.ndarray,
        error_variance: np.ndarray,
        *,
        rng: np.ndarray | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Return analysed states, shaped like ``states``, and set :attr:`diagnostics`.

        Shapes: ``states (..., member, n_state)``, ``predicted (..., member, n_obs)``,
        ``observed (..., n_obs)``, ``error_variance (..., n_obs)`` (diagonal R, in the squared
        units of the observations).  A NaN observation is dropped; a batch with no valid
        observation comes back unchanged.
        """
