"""HTML pages of the workflow, rendered from Jinja2 templates with one stylesheet.

Every page (verdict, claims, label-permutation null, provenance) extends
``templates/base.html`` and inlines ``templates/style.css``: the pages are shown inside
the Snakemake report as self-contained files, so nothing may be linked. Numbers are
formatted by the filters below (3 significant digits; a p-value that is only bounded
reads "< bound"), never printed raw.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


def _missing(x) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip() in ("", "nan", "NaN", "NA", "<NA>", "None")
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def num(x, digits: int = 3, missing: str = "–") -> str:
    """A number for display: integers as integers, others to ``digits`` significant digits."""
    if _missing(x):
        return missing
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.{digits}g}"


def bound_up(x: float, digits: int = 1) -> float:
    """``x`` rounded *up* to ``digits`` significant digits (a bound stays a bound: 1/1001 -> 0.001)."""
    if x <= 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(x)) - digits + 1
    step = 10.0 ** exp
    return float(f"{math.ceil(round(x / step, 9)) * step:.{digits + 1}g}")


def pval(p, bound=False, digits: int = 3, missing: str = "–") -> str:
    """A p-value; an upper bound (GSEA's 1/permutations when no permutation reached the
    score) as "< value" rounded up to one significant digit ("< 0.001")."""
    if _missing(p):
        return missing
    if isinstance(bound, str):
        bound = bound.strip().lower() in ("true", "1", "yes")
    if bound and not _missing(bound):
        return f"< {num(bound_up(float(p)))}"
    return num(p, digits)


def yes(value) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1")


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(num=num, pval=pval, yes=yes, missing=_missing)
    env.tests["missing"] = _missing
    return env


def render(template: str, **context) -> str:
    """The page ``template`` (a file in ``templates/``) rendered with ``context``."""
    context.setdefault("banner", "")
    return environment().get_template(template).render(**context)
