"""What the project's management commands share."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class TranslatedCommand(BaseCommand):
    """A command whose `help` is a lazy translation, shown in the active language.

    argparse needs text, not a lazy string: the help is worded when the
    parser is made, once the command's language is active.
    """

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.help = str(self.help)
        return super().create_parser(prog_name, subcommand, **kwargs)
