import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index as lifelines_cindex
from sklearn.metrics import roc_auc_score

from syntwin.synthesis.survival import (
    concordance_index,
    cumulative_dynamic_auc,
    kaplan_meier,
    km_sup_by_stratum,
    km_sup_distance,
)

from .conftest import make_table


@pytest.fixture(scope="module")
def surv():
    rng = np.random.default_rng(3)
    n = 800
    x = rng.normal(size=n)
    t_ev = rng.exponential(np.exp(-0.8 * x) * 40)
    c = rng.uniform(5, 90, n)
    time = np.round(np.minimum(t_ev, c))  # rounding creates ties in time
    event = (t_ev <= c).astype(int)
    risk = np.round(x + rng.normal(0, 0.5, n), 1)  # ties in risk
    return time, event, risk


def test_cindex_higher_risk_means_earlier_event(surv):
    time, event, risk = surv
    ours = concordance_index(time, event, risk)
    assert ours == pytest.approx(lifelines_cindex(time, -risk, event), abs=1e-12)
    assert 0.6 < ours < 0.9 and concordance_index(time, event, -risk) == pytest.approx(1 - ours, abs=0.01)
    assert concordance_index([1, 2, 3], [1, 1, 1], [3, 2, 1]) == 1.0
    assert concordance_index([1, 2, 3], [1, 1, 0], [1, 2, 3]) == 0.0


def test_kaplan_meier_matches_lifelines(surv):
    time, event, _ = surv
    times, s = kaplan_meier(time, event)
    kmf = KaplanMeierFitter().fit(time, event)
    np.testing.assert_allclose(s, kmf.survival_function_at_times(times).to_numpy(), atol=1e-12)
    # hand case: times 1,2,2,3 events 1,1,0,1 -> S(1)=3/4, S(2)=3/4*2/3=1/2, S(3)=0
    t, s = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    assert t.tolist() == [1, 2, 3] and np.allclose(s, [0.75, 0.5, 0.0])


def test_td_auc_without_censoring_equals_plain_auroc(surv):
    time, _, risk = surv
    event = np.ones_like(time, dtype=int)
    for h in (12, 36):
        lab = time <= h
        expected = roc_auc_score(lab, risk)
        assert cumulative_dynamic_auc(time, event, risk, [h])[0] == pytest.approx(expected, abs=1e-12)


def test_td_auc_ipcw_hand_case():
    time = np.array([1.0, 2.0, 3.0, 5.0, 6.0])
    event = np.array([1, 0, 1, 0, 1])
    risk = np.array([0.9, 0.1, 0.3, 0.5, 0.2])
    # G: censoring at 2 (n at risk 4) -> G=3/4 after 2; at 5 (n at risk 2) -> 3/8. G(3-) = 3/4
    # horizon 4: cases 1 (w=1) and 3 (w=4/3); controls times 5, 6 -> risks .5, .2
    # case 1 (r .9) beats both: 2; case 3 (r .3) beats .2 only: 1
    expected = (1 * 2 + 4 / 3 * 1) / ((1 + 4 / 3) * 2)
    assert cumulative_dynamic_auc(time, event, risk, [4])[0] == pytest.approx(expected)
    assert np.isnan(cumulative_dynamic_auc(time, event, risk, [0.5])[0])


def test_km_sup_distance():
    # a: S=.5 after 1, 0 after 2; b: S=1 until 2, 0 after 2 -> sup = .5
    assert km_sup_distance([1, 2], [1, 1], [2, 2], [1, 1]) == pytest.approx(0.5)
    assert km_sup_distance([1, 2, 3], [1, 0, 1], [1, 2, 3], [1, 0, 1]) == 0.0
    # restricted to the shorter follow-up: b ends at 2 so a's drop at 10 is not counted
    assert km_sup_distance([1, 1, 10, 10], [0, 0, 1, 1], [1, 2], [0, 0]) == 0.0


def test_km_sup_ignores_the_tail_where_few_remain_at_risk():
    """Same curve for 400 patients; one group's last 3 at risk die at once. The whole-curve sup is that jump
    (a third of the 3-patient tail); where 5 % of each group is still at risk the curves agree."""
    rng = np.random.default_rng(0)
    t = rng.exponential(30.0, 400)
    e = rng.random(400) < 0.7
    a_t, a_e = t.copy(), e.copy()
    b_t, b_e = t.copy(), e.copy()
    order = np.argsort(t)
    tail = order[-3:]
    a_e[tail] = False
    b_e[tail] = True
    b_t[tail] = t[order[-3]]  # the three die together
    whole = km_sup_distance(a_t, a_e, b_t, b_e, min_at_risk_share=0.0)
    assert whole > 0.001
    assert km_sup_distance(a_t, a_e, b_t, b_e) == 0.0
    # a real difference in the bulk is still found
    assert km_sup_distance(t, e, t * 1.5, e) > 0.1


def test_km_sup_by_stratum():
    real = make_table(1500, seed=1)
    same = make_table(1500, seed=2)
    res = km_sup_by_stratum(real, same, time="months", event="dead", by="stage", min_size=50)
    assert set(res) == {"all", "I", "II", "III", "IV", "max"}
    assert res["all"] < 0.06 and res["max"] == max(res[k] for k in ("I", "II", "III", "IV"))
    # synthetic rows with stage labels shuffled lose the stage-specific curves
    shuffled = same.assign(stage=np.random.default_rng(0).permutation(same["stage"].to_numpy()))
    bad = km_sup_by_stratum(real, shuffled, time="months", event="dead", by="stage", min_size=50)
    assert bad["max"] > 2 * res["max"] and bad["all"] == pytest.approx(res["all"])
    assert set(km_sup_by_stratum(real, same, time="months", event="dead")) == {"all"}
