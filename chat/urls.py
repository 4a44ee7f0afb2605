from django.urls import path

from . import views

urlpatterns = [
    path("api/uploads/", views.upload, name="upload"),
    path("api/attachments/<int:attachment_id>/<str:part>", views.download, name="attachment"),
]
