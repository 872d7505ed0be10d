"""The judgement: from enrichment tables to "on top", "reproduced" or "no", and how far to trust it.

* :mod:`.verdict` -- is the target pathway on top, per dataset, library and method;
* :mod:`.claims` -- the study's claims, dataset by dataset and overall;
* :mod:`.calibration` -- how often each rule says "on top" with and without a real effect, per
  dataset (:mod:`.dataset_calibration`: studies simulated from the dataset's own fit, judged by
  :mod:`.replay`, the workflow's verdict on an in-memory matrix) or from the package table; the
  power rule of the claims;
* :mod:`.null` (with :mod:`.null_statistics`, :mod:`.relabeling`) -- the label-permutation null;
* :mod:`.selection`, :mod:`.selection_analyses` -- selection of samples by expression and what
  it does to the answer;
* :mod:`.robustness`, :mod:`.sensitivity` -- the answer under other thresholds, libraries and
  gene sets.

Modules here read the tables made by :mod:`pathverdict.de` and :mod:`pathverdict.enrichment`
(and re-run them, for the null); nothing here draws or writes report pages
(:mod:`pathverdict.report`).
"""
