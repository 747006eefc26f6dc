from rest_framework import serializers

from accounts.serializers import UserShortSerializer

from .models import Enrollment, Material, Subject


class SubjectSerializer(serializers.ModelSerializer):
    materials_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Subject
        fields = ["id", "name", "description", "color", "materials_count"]


class MaterialSerializer(serializers.ModelSerializer):
    author = UserShortSerializer(read_only=True)
    subject_name = serializers.CharField(source="subject.name", read_only=True)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Material
        fields = [
            "id",
            "title",
            "description",
            "content",
            "subject",
            "subject_name",
            "author",
            "type",
            "file",
            "file_url",
            "video_url",
            "is_public",
            "assigned_to",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["author", "created_at", "updated_at"]

    def get_file_url(self, obj):
        if not obj.file:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(obj.file.url) if request else obj.file.url


class EnrollmentSerializer(serializers.ModelSerializer):
    student = UserShortSerializer(read_only=True)
    teacher = UserShortSerializer(read_only=True)
    subject = SubjectSerializer(read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "student", "subject", "teacher", "is_active", "enrolled_at"]
