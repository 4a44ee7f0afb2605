from django.core.management.base import BaseCommand

from ...models import AgentProfile
from ...services import agent_create

DEMO = [
    # username, password, display name, skills, supervisor
    ("alice", "alice-demo-pass", "Alice", ["billing", "sales"], False),
    ("bob", "bob-demo-pass", "Bob", ["support"], False),
    ("sam", "sam-demo-pass", "Sam (supervisor)", ["support", "billing"], True),
]


class Command(BaseCommand):
    help = "Create the demo agents and supervisor if missing, and print their logins."

    def handle(self, *args, **options):
        self.stdout.write("Demo logins (console and admin; API tokens are new on every run):")
        for username, password, name, skills, supervisor in DEMO:
            profile = AgentProfile.objects.filter(user__username=username).first()
            if profile is None:
                profile, token = agent_create(
                    username=username,
                    password=password,
                    display_name=name,
                    capacity=5,
                    skills=skills,
                    supervisor=supervisor,
                )
            else:
                token = profile.issue_api_token()
                profile.save(update_fields=["api_token_hash"])
            role = "supervisor" if supervisor else "agent"
            self.stdout.write(f"  {role:10} {username} / {password}   api token: {token}")
