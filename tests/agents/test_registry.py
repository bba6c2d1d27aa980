"""A new agent type or sensor is a class registered by name, not an edit of the model."""

import dataclasses

import numpy as np
import pytest

from syntwin.agents import ArrivalProfile, CrowdConfig, CrowdModel, VisitorParams, canteen_plan, collect
from syntwin.agents.people import STAFF, Person, Staff, Visitor
from syntwin.agents.registry import AGENT_TYPES, SENSORS, Registry
from syntwin.agents.sensors import Sensor


@SENSORS.register
class SeatedCount(Sensor):
    """People seated at each minute (a test sensor)."""

    name = "test_seated"
    figures = ("seated",)

    def __init__(self, model):
        super().__init__(model)
        self.steps_seen = 0

    def step(self, ids, pos):
        self.steps_seen += 1
        self.checked_step = _sees_the_present(self.model, ids, pos)

    def minute(self, ids, pos):
        self.checked_minute = _sees_the_present(self.model, ids, pos)
        return {"seated": float((self.model.state[ids] == 5).sum())}


def _sees_the_present(model, ids, pos) -> bool:
    """A sensor is handed exactly the people present (inside, staff included) and their positions."""
    from syntwin.agents.people import PRESENT_MASK

    assert np.array_equal(ids, np.flatnonzero(PRESENT_MASK[model.state]))
    assert np.array_equal(pos, model.pos[ids])
    return True


@AGENT_TYPES.register
class Usher(Person):
    """Stands at the first door for the whole run and steps aside once (a test agent type)."""

    name = "test_usher"

    @classmethod
    def initial(cls, model):
        d = model.config.plan.doors[0]
        return np.array([[d.x, d.y + 1.0]])

    @classmethod
    def due(cls, model, t):
        ids = np.array([a.idx for a in model.agents_by_type.get(cls, [])], dtype=np.int64)
        return ids if t == 60.0 else ids[:0]

    def step(self):
        self.model.pos[self.idx] += (0.5, 0.0)
        self.moved = getattr(self, "moved", 0) + 1


@pytest.fixture(scope="module")
def config():
    plan = canteen_plan(rows=2, cols=3, counters=1)
    return CrowdConfig(plan, ArrivalProfile((0, 600, 900), (3, 3, 0)), visitors=VisitorParams(dwell_mean_min=5),
                       duration_s=900, dt_s=5.0)


def test_a_registered_sensor_reports_through_the_datacollector(config):
    cfg = dataclasses.replace(config, sensors=(*config.sensors, "test_seated"))
    m = CrowdModel(cfg, seed=1).run()
    minutes = m.datacollector.get_model_vars_dataframe()
    assert "seated" in minutes and minutes["seated"].max() > 0
    assert m.sensors["test_seated"].steps_seen == m.steps
    assert m.sensors["test_seated"].checked_step and m.sensors["test_seated"].checked_minute
    assert minutes["seated"].iloc[-1] == (m.state == 5).sum()
    # the default sensors are unchanged by the extra one
    base = collect(CrowdModel(config, seed=1).run()).summary
    assert collect(m).summary == base


def test_a_registered_agent_type_acts_through_agentset_verbs(config):
    cfg = dataclasses.replace(config, agent_types=("visitor", "staff", "test_usher"))
    m = CrowdModel(cfg, seed=1)
    ushers = m.agents_by_type[Usher]
    assert len(ushers) == 1 and len(m.agents_by_type[Staff]) == 1
    (u,) = list(ushers)
    start = m.pos[u.idx].copy()
    m.run()
    assert u.moved == 1 and m.pos[u.idx] == pytest.approx(start + (0.5, 0.0))
    assert m.state[u.idx] == STAFF and m.dose[u.idx] > 0  # present all run: breathes the room air
    assert collect(m).summary["arrivals"] == m.n_arrivals  # visitor accounting unaffected
    assert len(m.agents_by_type[Visitor]) == m.inside_visitors + len(m.outside)


def test_unknown_names_list_the_valid_ones(config):
    with pytest.raises(ValueError, match=r"unknown sensor 'co2x'; valid: \[.*'contacts'"):
        CrowdModel(dataclasses.replace(config, sensors=("contacts", "co2x")))
    with pytest.raises(ValueError, match="unknown agent type 'robot'"):
        CrowdModel(dataclasses.replace(config, agent_types=("visitor", "robot")))
    with pytest.raises(ValueError, match="must include 'contacts'"):
        CrowdModel(dataclasses.replace(config, sensors=("zones",)))
    with pytest.raises(ValueError, match="named twice"):
        SENSORS.resolve_all(["zones", "zones"])
    reg = Registry("widget")
    with pytest.raises(TypeError, match="'name' attribute"):
        reg.register(type("Nameless", (), {}))
    reg.register(type("A", (), {"name": "a"}))
    with pytest.raises(ValueError, match="already registered"):
        reg.register(type("B", (), {"name": "a"}))
    assert "a" in reg and repr(reg) == "Registry('widget', ['a'])"
