"""The Solara app ``syntwin dashboard`` serves: one page, the crowd scenario of ``$SYNTWIN_DASHBOARD_SCENARIO``."""

import solara
from mesa.visualization import SolaraViz

from syntwin.dashboard import served_page


@solara.component
def Page():  # noqa: N802 - the name Solara serves
    """SolaraViz of the scenario's crowd model (see :mod:`syntwin.dashboard`)."""
    model_cls, components, params, name = served_page()
    model = solara.use_memo(model_cls, [])
    return SolaraViz(model, components=components, model_params=params, name=name)
