"""Other-cause mortality of the simulator: the United States period life table 2011, by sex and age.

Source: Arias E. United States Life Tables, 2011. National Vital Statistics Reports 2015;64(11)
(National Center for Health Statistics), https://www.cdc.gov/nchs/data/nvsr/nvsr64/nvsr64_11.pdf,
column ``q_x`` (probability of dying between ages x and x + 1) of the tables for females and males,
ages 0-99, and the open interval 100 and over (``l_100 / L_100``: 2,672 / 6,146 females, 987 / 2,038
males, i.e. 1 / e_100). Transcribed from the machine-readable copy of that report in the hesim R
package (``data-raw/lifetable.csv``, https://github.com/hesim-dev/hesim); checked here that every row
keeps ``l_(x+1) = l_x - d_x`` and ``q_x = d_x / l_x`` (to 1e-4); its e_0 column reads 81.1 (females)
and 76.3 (males), and integrating the hazard used here gives 81.05 and 76.29. 2011 is the middle of the simulated diagnosis years
(2004-2015) and their follow-up (to 2020); one period table serves every calendar year.

All-cause mortality of the general population stands in for death from other causes (cancer deaths
are ~23 % of US deaths, so it overstates other-cause mortality somewhat at the ages of these
cancers); each site's ``other_frailty`` (:mod:`syntwin.cohort._sites`) scales it for the site's
comorbidity. Within a year of age the hazard is constant, ``mu_x = -log(1 - q_x)``.
"""

from __future__ import annotations

import numpy as np

#: q_x, ages 0..99, females (NVSR 64(11), 2011).
Q_FEMALE: tuple[float, ...] = (
    0.005516, 0.000382, 0.000225, 0.000175, 0.000151, 0.000132, 0.000117, 0.000106, 0.000096, 0.000088,
    0.000084, 0.000087, 0.000102, 0.000129, 0.000166, 0.000207, 0.000247, 0.000286, 0.00032, 0.000351,
    0.000384, 0.000416, 0.000445, 0.000467, 0.000486, 0.000505, 0.000526, 0.000553, 0.000587, 0.000627,
    0.000673, 0.000721, 0.000766, 0.000805, 0.000842, 0.000888, 0.000947, 0.001017, 0.001099, 0.001192,
    0.001291, 0.001402, 0.001535, 0.001695, 0.001879, 0.00207, 0.002268, 0.002486, 0.002725, 0.002977,
    0.003245, 0.003514, 0.003776, 0.004029, 0.004289, 0.004564, 0.004875, 0.005234, 0.005647, 0.006103,
    0.006589, 0.007104, 0.007665, 0.008303, 0.00905, 0.009953, 0.011001, 0.012124, 0.01325, 0.014419,
    0.015718, 0.017201, 0.018896, 0.020818, 0.022996, 0.025387, 0.02809, 0.031225, 0.034786, 0.038792,
    0.043109, 0.0478, 0.053181, 0.059365, 0.066859, 0.075391, 0.084744, 0.095072, 0.106427, 0.118857,
    0.132396, 0.147063, 0.162859, 0.179765, 0.197737, 0.216706, 0.236577, 0.257228, 0.278515, 0.300271,
)
#: q_x, ages 0..99, males (NVSR 64(11), 2011).
Q_MALE: tuple[float, ...] = (
    0.006575, 0.000445, 0.000301, 0.00024, 0.000183, 0.000169, 0.00015, 0.000134, 0.000115, 0.000097,
    0.000085, 0.000092, 0.000132, 0.000213, 0.000323, 0.000439, 0.000552, 0.000675, 0.000807, 0.000942,
    0.001085, 0.001216, 0.00131, 0.001353, 0.001358, 0.001351, 0.001349, 0.001353, 0.001371, 0.001399,
    0.001432, 0.001464, 0.001496, 0.001528, 0.001563, 0.001613, 0.001682, 0.001764, 0.001857, 0.001964,
    0.002083, 0.002227, 0.002414, 0.002653, 0.002939, 0.003243, 0.003563, 0.003922, 0.00432, 0.004749,
    0.005193, 0.005647, 0.006122, 0.00663, 0.007181, 0.007779, 0.008415, 0.009074, 0.009727, 0.010371,
    0.011034, 0.011738, 0.012489, 0.013335, 0.014319, 0.015482, 0.016824, 0.01833, 0.0199, 0.021539,
    0.023396, 0.025476, 0.027794, 0.03035, 0.033204, 0.036345, 0.039788, 0.04372, 0.048335, 0.05365,
    0.059565, 0.065848, 0.072956, 0.080741, 0.089357, 0.09965, 0.110901, 0.123146, 0.136412, 0.15071,
    0.166038, 0.182374, 0.199676, 0.21788, 0.236903, 0.256636, 0.276954, 0.297713, 0.318755, 0.339914,
)
#: Death rate of the open interval 100+ (l_100 / L_100), per year.
RATE_100_FEMALE: float = 2672 / 6146
RATE_100_MALE: float = 987 / 2038
_TOP = 150.0  # attained ages beyond the table keep the 100+ rate up to here (never reached in practice)


def _cumulative(q: tuple[float, ...], rate_100: float) -> tuple[np.ndarray, np.ndarray]:
    """Knots (ages 0, 1, ..., 100, _TOP) and the cumulative hazard Λ(age) at them (piecewise linear)."""
    mu = np.append(-np.log1p(-np.asarray(q, dtype=float)), rate_100)
    ages = np.append(np.arange(101, dtype=float), _TOP)
    widths = np.diff(ages)
    return ages, np.concatenate([[0.0], np.cumsum(mu * widths)])


_CUM = {False: _cumulative(Q_FEMALE, RATE_100_FEMALE), True: _cumulative(Q_MALE, RATE_100_MALE)}


def other_cause_years(age: np.ndarray, male: np.ndarray, exp_draw: np.ndarray, frailty: float) -> np.ndarray:
    """Years from diagnosis at ``age`` to death from other causes, by inversion of the life table.

    Solves ``frailty * (Λ_sex(age + t) - Λ_sex(age)) = E`` for ``t`` with ``E = exp_draw`` (standard
    exponential): the cumulative hazard Λ of the table is piecewise linear in attained age, so its
    inverse is an interpolation.
    """
    age, male, e = np.asarray(age, float), np.asarray(male, bool), np.asarray(exp_draw, float)
    out = np.empty(age.shape)
    for sex in (False, True):
        rows = male == sex
        knots, cum = _CUM[sex]
        target = np.interp(age[rows], knots, cum) + e[rows] / frailty
        out[rows] = np.interp(target, cum, knots, right=_TOP) - age[rows]
    return out


def survival(age: float, years: float, male: bool = False) -> float:
    """P(alive ``years`` after ``age``) by the table (frailty 1): ``exp(-(Λ(age + years) - Λ(age)))``."""
    knots, cum = _CUM[bool(male)]
    return float(np.exp(-(np.interp(age + years, knots, cum) - np.interp(age, knots, cum))))


__all__ = ["Q_FEMALE", "Q_MALE", "other_cause_years", "survival"]
