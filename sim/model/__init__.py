"""The model: the care process (SimPy), the policy interface regimes plug
into, and the domain objects it moves (episodes, providers, waiting lists,
cases, the world), its random streams, records and metrics. It never imports a
concrete regime, the experiment layer or presentation."""
