from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers the checks, connects the receivers)
