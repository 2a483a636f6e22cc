"""The portfolio simulator: a collections department at work, day by day, over HTTP only.

`python -m arrears_dev.simulator --loans N --days D --seed S --case-url URL` plays loan servicing
(opens cases, files the daily missed-payments batch, reports payments), collectors (calls,
SMS, promises, notices, field visits) and legal officers (legal notices, lawsuits, judgments,
enforcement, write-offs) against the public APIs. Modules:

- `model`: one loan's behaviour (borrower profile, roll rates, cures, promises, disputes)
  and the collection strategy, as pure functions of a per-loan random stream;
- `driver`: the HTTP side (tokens, routing, concurrency, counting what the services said);
- `run`: the day loop, the progress line and the summary; `__main__`: the CLI.

Deterministic: every loan draws from its own `random.Random` seeded with (seed, loan), and
nothing it decides depends on what the services answer, so one seed gives one portfolio.
"""

from arrears_dev.simulator.model import Action, DayPlan, Loan, Portfolio
from arrears_dev.simulator.run import SimulationConfig, Summary, simulate

__all__ = ["Action", "DayPlan", "Loan", "Portfolio", "SimulationConfig", "Summary", "simulate"]
