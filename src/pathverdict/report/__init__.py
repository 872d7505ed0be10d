"""What people read: the figures (:mod:`.plots`) and the provenance page and report context
(:mod:`.provenance`). The terminal answer is :mod:`pathverdict.summary`; the HTML templates are
rendered by :mod:`pathverdict.render`."""
