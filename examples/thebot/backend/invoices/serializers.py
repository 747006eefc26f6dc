from decimal import Decimal

from rest_framework import serializers

from accounts.serializers import UserShortSerializer

from .models import Invoice


class InvoiceSerializer(serializers.ModelSerializer):
    tutor = UserShortSerializer(read_only=True)
    parent_info = UserShortSerializer(source="parent", read_only=True)
    student_info = UserShortSerializer(source="student", read_only=True)
    subject_name = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "tutor",
            "parent",
            "parent_info",
            "student",
            "student_info",
            "enrollment",
            "subject_name",
            "amount",
            "description",
            "status",
            "due_date",
            "payment_id",
            "payment_url",
            "is_overdue",
            "created_at",
            "sent_at",
            "viewed_at",
            "paid_at",
        ]
        read_only_fields = [
            "tutor",
            "status",
            "payment_id",
            "payment_url",
            "created_at",
            "sent_at",
            "viewed_at",
            "paid_at",
        ]
        extra_kwargs = {
            "parent": {"write_only": True},
            "student": {"write_only": True},
        }

    def get_subject_name(self, obj):
        if obj.enrollment_id:
            return obj.enrollment.subject.name
        return None

    def validate_amount(self, value):
        if value <= Decimal("0"):
            raise serializers.ValidationError("Amount must be positive.")
        return value

    def validate(self, attrs):
        parent = attrs.get("parent")
        student = attrs.get("student")
        if parent and student and student.parent_id != parent.id:
            raise serializers.ValidationError({"student": "Student is not linked to this parent."})
        return attrs
