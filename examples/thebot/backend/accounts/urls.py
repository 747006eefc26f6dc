from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("students/", views.StudentListView.as_view(), name="students"),
    path("telegram/link/", views.TelegramLinkView.as_view(), name="telegram-link"),
]
