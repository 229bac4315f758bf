"""The experiment layer: paired comparisons, sweep specs and designs, the
runner, executors, the results store, provenance and the warm-up check. It
calls the model through ``sim.run`` and nothing below imports it."""
