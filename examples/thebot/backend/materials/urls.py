from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "materials"

router = DefaultRouter()
router.register("subjects", views.SubjectViewSet, basename="subject")
router.register("enrollments", views.EnrollmentViewSet, basename="enrollment")
router.register("", views.MaterialViewSet, basename="material")

urlpatterns = [
    path("", include(router.urls)),
]
