from django.db.models import Avg, Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsTeacherOrReadOnly, IsTeacherOrTutor
from accounts.throttles import BurstRateThrottle

from .models import Assignment, AssignmentSubmission
from .serializers import (
    AssignmentListSerializer,
    AssignmentSerializer,
    AssignmentSubmissionSerializer,
)


class AssignmentViewSet(viewsets.ModelViewSet):
    permission_classes = [IsTeacherOrReadOnly]

    def get_queryset(self):
        user = self.request.user
        qs = Assignment.objects.select_related("author", "subject").annotate(
            submissions_total=Count("submissions")
        ).order_by("-created_at")
        if user.role in ("teacher", "tutor") or user.is_staff:
            return qs.filter(author=user)
        return qs.filter(
            assigned_to=user,
            status=Assignment.Status.PUBLISHED,
        ).filter(Q(publish_at__isnull=True) | Q(publish_at__lte=timezone.now()))

    def get_serializer_class(self):
        if self.action == "list":
            return AssignmentListSerializer
        return AssignmentSerializer

    def perform_create(self, serializer):
        serializer.save(author=self.request.user)


class SubmitAssignmentView(APIView):
    throttle_classes = [BurstRateThrottle]

    def post(self, request, pk):
        assignment = get_object_or_404(
            Assignment, pk=pk, assigned_to=request.user, status=Assignment.Status.PUBLISHED
        )
        if assignment.due_date < timezone.now():
            return Response(
                {"success": False, "error": "Deadline has passed"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        submission, created = AssignmentSubmission.objects.update_or_create(
            assignment=assignment,
            student=request.user,
            defaults={
                "content": request.data.get("content", ""),
                "status": AssignmentSubmission.Status.SUBMITTED,
            },
        )
        data = AssignmentSubmissionSerializer(submission, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class GradeSubmissionView(APIView):
    permission_classes = [IsTeacherOrTutor]

    def post(self, request, pk):
        submission = get_object_or_404(
            AssignmentSubmission, pk=pk, assignment__author=request.user
        )
        score = int(request.data.get("score", 0))
        if score > submission.assignment.max_score:
            return Response(
                {"success": False, "error": "Score exceeds max score"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        submission.score = score
        submission.feedback = request.data.get("feedback", "")
        submission.status = AssignmentSubmission.Status.GRADED
        submission.graded_at = timezone.now()
        submission.save()
        return Response(AssignmentSubmissionSerializer(submission).data)


class AssignmentStatsView(APIView):
    permission_classes = [IsTeacherOrTutor]

    def get(self, request):
        qs = Assignment.objects.filter(author=request.user)
        submissions = AssignmentSubmission.objects.filter(assignment__author=request.user)
        return Response(
            {
                "total": qs.count(),
                "published": qs.filter(status=Assignment.Status.PUBLISHED).count(),
                "submissions": submissions.count(),
                "pending_review": submissions.filter(
                    status=AssignmentSubmission.Status.SUBMITTED
                ).count(),
                "average_score": submissions.aggregate(avg=Avg("score"))["avg"],
            }
        )
