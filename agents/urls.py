from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", views.ConsoleLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", views.console, name="console"),
    path("console/conversations/", views.conversation_list, name="console-conversations"),
    path(
        "console/conversations/<int:conversation_id>/", views.conversation_detail, name="console-conversation"
    ),
    path("console/customers/<int:customer_id>/", views.customer_panel, name="console-customer"),
    path("console/transcripts/<int:conversation_id>/", views.transcript, name="console-transcript"),
    path("console/queue/", views.queue, name="console-queue"),
    path("console/roster/", views.roster, name="console-roster"),
    path("console/internal/", views.internal_thread, name="console-internal"),
]
