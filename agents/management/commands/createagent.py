from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chat.errors import ChatError

from ...services import agent_create


def skills_list(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


class Command(BaseCommand):
    help = "Create an agent (a user with an agent profile) and print its API token last."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="Console login password (none: API token only).")
        parser.add_argument("--name", help="Display name shown to customers (default: username).")
        parser.add_argument(
            "--capacity",
            type=int,
            default=settings.CHAT["DEFAULT_CAPACITY"],
            help="Conversations held at once (default: %(default)s).",
        )
        parser.add_argument(
            "--skills", type=skills_list, default=[], help="Comma-separated, e.g. billing,sales."
        )
        parser.add_argument(
            "--supervisor",
            action="store_true",
            help="Also a supervisor: admin, the wallboard and the reports (the Supervisors group).",
        )

    def handle(self, *args, **options):
        if options["capacity"] < 0 or options["capacity"] > 1000:
            raise CommandError("--capacity must be 0 to 1000.")
        if options["name"] is not None and not 0 < len(options["name"].strip()) <= 80:
            raise CommandError("--name must be 1 to 80 characters.")
        try:
            profile, token = agent_create(
                username=options["username"],
                password=options["password"],
                display_name=options["name"] and options["name"].strip(),
                capacity=options["capacity"],
                skills=options["skills"],
                supervisor=options["supervisor"],
            )
        except ChatError as error:
            raise CommandError(error.message) from None
        role = "supervisor and agent" if options["supervisor"] else "agent"
        self.stdout.write(f"Created {role} {profile.display_name!r} (agent id {profile.id}).")
        self.stdout.write(token)
