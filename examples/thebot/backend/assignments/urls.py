from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "assignments"

router = DefaultRouter()
router.register("", views.AssignmentViewSet, basename="assignment")

urlpatterns = [
    path("stats/", views.AssignmentStatsView.as_view(), name="stats"),
    path("<int:pk>/submit/", views.SubmitAssignmentView.as_view(), name="submit"),
    path("submissions/<int:pk>/grade/", views.GradeSubmissionView.as_view(), name="grade"),
    path("", include(router.urls)),
]
