import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...demo import DEMO_ACCOUNTS
from ...models import AgentProfile
from ...services import agent_create, agent_rotate_api_token
from ...supervisors import make_supervisor


class Command(BaseCommand):
    help = (
        "Create the demo agents and supervisor of `make run` if missing, give each a new random"
        " password and API token, and print them. DEBUG only, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run with DEBUG off too. deploy/serve then refuses to start on this database.",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "demo_setup makes accounts whose passwords it prints, for the local demo: it runs with"
                " DEBUG=1 (make run). --force runs it anyway; deploy/serve then refuses that database."
            )
        User = get_user_model()
        self.stdout.write("Demo logins (console and admin), new on every run:")
        for account in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            profile = AgentProfile.objects.filter(user__username=account.username).first()
            if profile is None:
                profile, token = agent_create(
                    username=account.username,
                    password=password,
                    display_name=account.display_name,
                    capacity=5,
                    skills=list(account.skills),
                    supervisor=account.supervisor,
                )
                user = profile.user
            else:
                user = User.objects.get(pk=profile.user_id)
                user.set_password(password)
                token = agent_rotate_api_token(agent_id=profile.id)
                if account.supervisor:
                    make_supervisor(user)  # databases of earlier runs made it a superuser
            user.email = account.email  # the mark deploy/serve looks for
            user.save()
            role = "supervisor" if account.supervisor else "agent"
            self.stdout.write(f"  {role:10} {account.username} / {password}   api token: {token}")
