"""Occupancy of individual parking bays as two-state Markov chains.

Each bay switches between free and occupied. The rates are set so that the chain's
stationary probability of being occupied equals the lot profile's probability at
that time, and an occupied spell lasts the profile's mean dwell time on average.
A step of any length uses the exact transition probabilities of the
continuous-time chain, so irregular ticks need no special care.
"""

import numpy as np
from numpy.typing import NDArray


def transition_probabilities(
    p_occupied: NDArray[np.float64], mean_dwell_s: NDArray[np.float64], dt_s: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return P(occupied after ``dt_s`` | occupied) and P(occupied after ``dt_s`` | free).

    With a leaving rate mu = 1 / dwell and an arrival rate lambda = mu p / (1 - p),
    the stationary probability is p and the chain relaxes at rate
    lambda + mu = mu / (1 - p). ``p_occupied`` must lie strictly between 0 and 1.
    """
    decay = np.exp(-dt_s / (mean_dwell_s * (1.0 - p_occupied)))
    return p_occupied + (1.0 - p_occupied) * decay, p_occupied * (1.0 - decay)


class BayChains:
    """The occupied/free state of a set of bays, each following its profile's chain."""

    def __init__(self, profile_of_bay: NDArray[np.intp], rng: np.random.Generator) -> None:
        """Track bays whose profile (an index into per-profile arrays) is ``profile_of_bay``."""
        self._profile_of_bay = profile_of_bay
        self._rng = rng
        self._occupied = np.zeros(len(profile_of_bay), dtype=bool)

    @property
    def occupied(self) -> NDArray[np.bool_]:
        """Return the current states, True where a bay is occupied (read-only view)."""
        view = self._occupied.view()
        view.flags.writeable = False
        return view

    def start(self, p_profile: NDArray[np.float64]) -> None:
        """Draw every bay's state from its stationary probability."""
        p = p_profile[self._profile_of_bay]
        self._occupied = self._rng.random(len(p)) < p

    def step(
        self, dt_s: float, p_profile: NDArray[np.float64], dwell_s_profile: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        """Advance every bay by ``dt_s`` seconds and return a mask of the bays that changed."""
        stay, arrive = transition_probabilities(p_profile, dwell_s_profile, dt_s)
        p_next = np.where(self._occupied, stay[self._profile_of_bay], arrive[self._profile_of_bay])
        occupied = self._rng.random(len(p_next)) < p_next
        changed: NDArray[np.bool_] = occupied != self._occupied
        self._occupied = occupied
        return changed
