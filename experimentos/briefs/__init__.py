"""Work briefs: the reviewed knowledge that applies to a task, within a token budget."""

from experimentos.briefs.models import Brief, BriefEntry, BriefRequest

__all__ = ["Brief", "BriefEntry", "BriefRequest"]
