"""Council of the EU voting weights by the treaty in force on a date, as capabilities.

Qualified-majority weights per member state (DEU country codes):

* 1 Jan 1995 – 30 Apr 2004, EU-15: Art. 148(2) EC as amended by the 1994 Act of Accession
  (DE, FR, IT, UK 10; ES 8; BE, EL, NL, PT 5; AT, SE 4; DK, IE, FI 3; LU 2; total 87).
* 1 May – 31 Oct 2004, EU-25: the same weights for the fifteen and, by the 2003 Act of
  Accession (Art. 26), PL 8; CZ, HU 5; EE, LV, LT, SK, SI 3; CY, MT 2 (total 124).
* 1 Nov 2004 – 31 Oct 2014: the Treaty of Nice's weights (Protocol on enlargement, Art. 3, and
  the 2003 Act, Art. 12): DE, FR, IT, UK 29; ES, PL 27; NL 13; BE, CZ, EL, HU, PT 12; AT, SE
  10; DK, IE, LT, SK, FI 7; CY, EE, LV, LU, SI 4; MT 3; from 1 Jan 2007 RO 14, BG 10 (2005
  Act of Accession); from 1 Jul 2013 HR 7 (2012 Act of Accession); total 352.
* From 1 Nov 2014: the double majority of Art. 16(4) TEU and Art. 238(3) TFEU: 55 % of the
  member states representing 65 % of the population, a blocking minority needing at least
  four states. A state's weight is its normalised Banzhaf index in that voting game (exact,
  by counting coalitions), with the populations of 1 January 2015 (Eurostat ``demo_pjan``,
  thousands) that the Council's rules of procedure used for 2015.

Under unanimity every member state holds a veto, so all member states get the same weight
(the mean of their qualified-majority weights on that date).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from functools import cache

import numpy as np

EU15 = {
    "de": 10, "fr": 10, "it": 10, "uk": 10, "es": 8, "be": 5, "el": 5, "nl": 5, "pt": 5,
    "at": 4, "se": 4, "dk": 3, "ie": 3, "fi": 3, "lu": 2,
}  # fmt: skip
"""EU-15 qualified-majority weights (1995–April 2004)."""

ACCESSION_2004 = {
    "pl": 8, "cz": 5, "hu": 5, "ee": 3, "lv": 3, "lt": 3, "sk": 3, "si": 3, "cy": 2, "mt": 2,
}  # fmt: skip
"""Weights of the ten new members from 1 May to 31 October 2004."""

NICE = {
    "de": 29, "fr": 29, "it": 29, "uk": 29, "es": 27, "pl": 27, "nl": 13, "be": 12, "cz": 12,
    "el": 12, "hu": 12, "pt": 12, "at": 10, "se": 10, "dk": 7, "ie": 7, "lt": 7, "sk": 7,
    "fi": 7, "cy": 4, "ee": 4, "lv": 4, "lu": 4, "si": 4, "mt": 3,
}  # fmt: skip
"""Nice weights of the EU-25 (from 1 November 2004)."""

NICE_LATER = {
    "ro": (date(2007, 1, 1), 14),
    "bu": (date(2007, 1, 1), 10),
    "cr": (date(2013, 7, 1), 7),
}
"""Members that joined later: (date of accession, Nice weight)."""

POPULATION_2015 = {
    "de": 81197, "fr": 66415, "uk": 64875, "it": 60796, "es": 46450, "pl": 38006, "ro": 19871,
    "nl": 16901, "be": 11258, "el": 10858, "cz": 10538, "pt": 10375, "hu": 9856, "se": 9747,
    "at": 8585, "bu": 7202, "dk": 5660, "fi": 5472, "sk": 5421, "ie": 4628, "cr": 4225,
    "lt": 2921, "si": 2063, "lv": 1986, "ee": 1313, "cy": 847, "lu": 563, "mt": 429,
}  # fmt: skip
"""Population on 1 January 2015, thousands (Eurostat demo_pjan)."""

ENLARGEMENT_2004 = date(2004, 5, 1)
NICE_START = date(2004, 11, 1)
DOUBLE_MAJORITY_START = date(2014, 11, 1)


def qmv_weights(on: date) -> dict[str, float]:
    """Each member state's qualified-majority weight on a date (see the module docstring)."""
    if on < ENLARGEMENT_2004:
        return {k: float(v) for k, v in EU15.items()}
    if on < NICE_START:
        return {k: float(v) for k, v in (EU15 | ACCESSION_2004).items()}
    if on < DOUBLE_MAJORITY_START:
        out = {k: float(v) for k, v in NICE.items()}
        out.update({k: float(w) for k, (start, w) in NICE_LATER.items() if on >= start})
        return out
    return dict(_double_majority_banzhaf())


def council_weights(on: date, vote: str) -> dict[str, float]:
    """Member states' weights for a Council ``vote`` (``QMV`` or ``Unan``) on a date."""
    weights = qmv_weights(on)
    if vote == "Unan":
        mean = sum(weights.values()) / len(weights)
        return dict.fromkeys(weights, mean)
    return weights


@cache
def _double_majority_banzhaf() -> tuple[tuple[str, float], ...]:
    """Normalised Banzhaf indices of the double-majority game, scaled to the Nice total (352)
    so that weights before and after 2014 are on one scale.

    ``ways[k, p]`` counts the coalitions of ``k`` states with population ``p`` (thousands),
    built once; removing state ``i`` is the exact inverse step, ``w_i[k] = ways[k] -
    w_i[k - 1]`` shifted by ``i``'s population (counts below 2^53 stay exact in float64).
    ``i`` swings a coalition of the others that loses without it and wins with it.
    """
    states = sorted(POPULATION_2015)
    pop = np.array([POPULATION_2015[s] for s in states], dtype=np.int64)
    n, total = len(states), int(pop.sum())
    need_states, need_pop = math.ceil(0.55 * n), 0.65 * total
    ways = np.zeros((n + 1, total + 1))
    ways[0, 0] = 1.0
    for m, q in enumerate(pop):
        ways[1 : m + 2, q:] += ways[: m + 1, : total + 1 - q].copy()
    population = np.arange(total + 1)
    swings = np.zeros(n)
    for i, q in enumerate(pop):
        rest = np.empty((n, total + 1))
        rest[0] = ways[0]
        for k in range(1, n):
            rest[k] = ways[k]
            rest[k, q:] -= rest[k - 1, : total + 1 - q]
        for k in range(n):
            lose = ~_wins(k, population, n, need_states, need_pop)
            win = _wins(k + 1, population + q, n, need_states, need_pop)
            swings[i] += rest[k, lose & win].sum()
    share = swings / swings.sum()
    return tuple((s, float(352.0 * w)) for s, w in zip(states, share, strict=True))


def _wins(k: int, p: np.ndarray, n: int, need_states: int, need_pop: float) -> np.ndarray:
    """A coalition of ``k`` states and population ``p`` wins: the double majority, or too few
    states left outside to block (a blocking minority needs four)."""
    out: np.ndarray = ((k >= need_states) & (p >= need_pop)) | (k >= n - 3)
    return out


def institution_weights(
    states: Mapping[str, float], procedure: str, treatment: str
) -> dict[str, float]:
    """Capabilities of the Commission (``com``) and the Parliament (``ep``) beside the
    member states' weights ``states``.

    ``treatment``: ``average`` (default) gives each the mean member-state weight;
    ``co-legislator`` gives the Parliament as much as the whole Council under the ordinary
    legislative procedure (COD) and nothing when it is only consulted (CNS), the Commission
    the mean member-state weight; ``none`` leaves both out.
    """
    mean = sum(states.values()) / len(states)
    if treatment == "none":
        return {"com": 0.0, "ep": 0.0}
    if treatment == "average":
        return {"com": mean, "ep": mean}
    if treatment == "co-legislator":
        return {"com": mean, "ep": sum(states.values()) if procedure == "COD" else 0.0}
    raise ValueError(f"unknown institutions treatment {treatment!r} (average, co-legislator, none)")


INSTITUTIONS = ("average", "co-legislator", "none")
