"""The wallboard's URLs under admin: each view wrapped by the site's `admin_view`."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import make_views


def wallboard_urls(admin_site) -> list[URLPattern]:
    views = {name: admin_site.admin_view(view) for name, view in make_views(admin_site).items()}
    return [
        path("wallboard/", views["page"], name="wallboard"),
        path("wallboard/board/", views["fragment"], name="wallboard-board"),
        path("wallboard/reassign/", views["reassign"], name="wallboard-reassign"),
        path("wallboard/requeue/", views["requeue"], name="wallboard-requeue"),
        path("wallboard/close/", views["close"], name="wallboard-close"),
        path("wallboard/set-offline/", views["set_offline"], name="wallboard-set-offline"),
    ]
