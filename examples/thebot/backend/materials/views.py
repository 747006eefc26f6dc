from django.db.models import Count, Q
from rest_framework import viewsets

from accounts.permissions import IsTeacherOrReadOnly
from accounts.throttles import RoleBasedRateThrottle

from .models import Enrollment, Material, Subject
from .serializers import EnrollmentSerializer, MaterialSerializer, SubjectSerializer


class SubjectViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Subject.objects.annotate(materials_count=Count("materials")).order_by("name")
    serializer_class = SubjectSerializer


class MaterialViewSet(viewsets.ModelViewSet):
    serializer_class = MaterialSerializer
    permission_classes = [IsTeacherOrReadOnly]
    throttle_classes = [RoleBasedRateThrottle]

    def get_queryset(self):
        user = self.request.user
        qs = Material.objects.select_related("subject", "author")
        if user.role in ("teacher", "tutor") or user.is_staff:
            return qs.filter(Q(author=user) | Q(is_public=True)).distinct()
        return qs.filter(Q(is_public=True) | Q(assigned_to=user)).distinct()

    def perform_create(self, serializer):
        serializer.save(author=self.request.user)


class EnrollmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EnrollmentSerializer

    def get_queryset(self):
        user = self.request.user
        qs = Enrollment.objects.select_related("student", "subject", "teacher")
        if user.is_staff:
            return qs
        return qs.filter(Q(student=user) | Q(teacher=user))
