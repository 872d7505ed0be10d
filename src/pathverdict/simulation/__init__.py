"""Simulated studies whose truth is known: counts from negative-binomial fits to real data
(:mod:`.simulate`), whole studies of several datasets for the demo and the tests
(:mod:`.simulated_study`), and studies simulated from one dataset's own fit for its calibration
(:mod:`.dataset_fit`)."""
