from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import UserShortSerializer

from .models import Assignment, AssignmentSubmission


class AssignmentListSerializer(serializers.ModelSerializer):
    author = UserShortSerializer(read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True, default=None)
    publish_at = serializers.SerializerMethodField()
    is_overdue = serializers.SerializerMethodField()
    submissions_count = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "title",
            "author",
            "subject",
            "subject_name",
            "status",
            "max_score",
            "publish_at",
            "due_date",
            "is_overdue",
            "submissions_count",
        ]

    def get_publish_at(self, obj):
        value = obj.publish_at or obj.created_at
        return timezone.localtime(value).isoformat() if value else None

    def get_is_overdue(self, obj):
        return obj.status == Assignment.Status.PUBLISHED and obj.due_date < timezone.now()

    def get_submissions_count(self, obj):
        return getattr(obj, "submissions_total", None) or obj.submissions.count()


class AssignmentSerializer(serializers.ModelSerializer):
    author = UserShortSerializer(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "title",
            "description",
            "instructions",
            "author",
            "subject",
            "status",
            "max_score",
            "publish_at",
            "due_date",
            "assigned_to",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["author", "created_at", "updated_at"]

    def validate(self, attrs):
        publish_at = attrs.get("publish_at")
        due_date = attrs.get("due_date")
        if publish_at and due_date and due_date <= publish_at:
            raise serializers.ValidationError({"due_date": "Due date must be after publish date."})
        return attrs


class AssignmentSubmissionSerializer(serializers.ModelSerializer):
    student = UserShortSerializer(read_only=True)

    class Meta:
        model = AssignmentSubmission
        fields = [
            "id",
            "assignment",
            "student",
            "content",
            "file",
            "status",
            "score",
            "feedback",
            "submitted_at",
            "graded_at",
        ]
        read_only_fields = ["assignment", "student", "status", "score", "feedback", "graded_at"]
