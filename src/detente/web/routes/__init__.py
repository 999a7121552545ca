"""The web app's routes, one router per area; :func:`detente.web.app.create_app` joins them.

Each module has ``router(services)``, which builds its :class:`fastapi.APIRouter` for one app:
the routes read the app's budget (body limits are part of a route) and share its
:class:`~detente.web.services.Services`.

* :mod:`.pages`: the page and its script (``/``, ``/static/plotly.js``);
* :mod:`.info`: the server's version and limits (``/api/info``);
* :mod:`.scenarios`: built-in scenarios, uploads, validation;
* :mod:`.runs`: the models and single runs;
* :mod:`.mc`: Monte Carlo jobs, and the jobs' progress;
* :mod:`.compare`: shocks compared with the baseline;
* :mod:`.analysis`: explanations of recorded runs, sensitivity jobs;
* :mod:`.advise`: an actor's levers ranked under uncertainty (and a page);
* :mod:`.structure`: a scenario's causal map with levers set, its summit (and a page);
* :mod:`.evidence`: sources and their documents;
* :mod:`.store`: recorded runs: the most recent, one run as recorded, its view on the page
  (its results read back through their own types) and its HTML report.
"""
