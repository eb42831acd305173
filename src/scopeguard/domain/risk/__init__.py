"""Client risk: which clients cost more than they pay, and which side the problem is on.

The engine is pure (no I/O) and built in layers, one module per concern:

- :mod:`~scopeguard.domain.risk.people`: the agency's and the client's people, sides, the PM;
- :mod:`~scopeguard.domain.risk.worktime`: working hours in the agency's zone, exact across DST;
- :mod:`~scopeguard.domain.risk.lexicon`: phrases found in any word form; English or Russian;
- :mod:`~scopeguard.domain.risk.activity`: a client's issues read as sided actions;
- :mod:`~scopeguard.domain.risk.signals`: signal names, weights, measurements and evidence;
- the signals: :mod:`~scopeguard.domain.risk.timing` (off-hours pressure),
  :mod:`~scopeguard.domain.risk.briefs` (vague briefs),
  :mod:`~scopeguard.domain.risk.churn` (revision and requirement churn, scope pressure),
  :mod:`~scopeguard.domain.risk.pressure` (escalation, requests for another PM),
  :mod:`~scopeguard.domain.risk.approvals` (approval drag),
  :mod:`~scopeguard.domain.risk.agency` (responsiveness, neglect);
- :mod:`~scopeguard.domain.risk.score`: robust normalisation against the other clients, the score;
- :mod:`~scopeguard.domain.risk.verdict`: the conflict view and whose side to look at first;
- :mod:`~scopeguard.domain.risk.early`: the early warning for a young contract;
- :mod:`~scopeguard.domain.risk.engine`: :func:`~scopeguard.domain.risk.engine.assess_portfolio`,
  the one call that runs all of it for every client.

This package's ``__init__`` imports nothing, so that :mod:`scopeguard.domain.brief`
can use the lexicon without loading the engine; import from the modules.
"""
