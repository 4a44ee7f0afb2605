"""What a page ought to say in a language, read from the catalogs themselves.

Tests of translated pages compare what they show with these, not with wording
of their own: the templates' strings (domain django, as {% translate %} finds
them) and the scripts' (domain djangojs, the catalog /i18n/catalog.js serves,
with the same plural rules as the page's ngettext).
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.utils import translation
from django.utils.translation.trans_real import DjangoTranslation

# CJK Unified Ideographs (with extension A and the compatibility block), and
# CJK punctuation and full-width forms.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def has_cjk(text: str) -> bool:
    """Does `text` hold a Chinese character (or CJK punctuation)?"""
    return bool(_CJK.search(text or ""))


def page_text(msgid: str, lang: str, context: str | None = None, **values) -> str:
    """A template's {% translate %} of `msgid` in `lang`, `%(name)s` filled from `values`."""
    with translation.override(lang):
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    return text % values if values else text


@lru_cache
def _script_catalog(lang: str) -> DjangoTranslation:
    # What JavaScriptCatalog(domain="djangojs") builds for the page.
    return DjangoTranslation(lang, domain="djangojs")


def script_text(msgid: str, lang: str, **values) -> str:
    """The page script's gettext("...") of `msgid` in `lang`, then interpolate(..., values, true)."""
    text = _script_catalog(lang).gettext(msgid)
    return text % values if values else text


def script_plural(singular: str, plural: str, count: int, lang: str, **values) -> str:
    """The page script's ngettext(singular, plural, count) in `lang`, then interpolate(..., values, true)."""
    text = _script_catalog(lang).ngettext(singular, plural, count)
    return text % values if values else text
