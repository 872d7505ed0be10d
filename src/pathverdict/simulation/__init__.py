"""Simulated studies whose truth is known: counts from negative-binomial fits to real data
(:mod:`.simulate`) and whole studies of several datasets for the demo and the tests
(:mod:`.simulated_study`)."""
