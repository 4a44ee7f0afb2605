"""Read-only queries for the customer pages."""

from agents.models import AgentProfile


def offered_topics() -> list[str]:
    """The topics a customer may pick: every skill some agent has."""
    skills: set[str] = set()
    for agent_skills in AgentProfile.objects.values_list("skills", flat=True):
        skills.update(s for s in agent_skills or () if isinstance(s, str) and s)
    return sorted(skills)
