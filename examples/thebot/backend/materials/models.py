from django.conf import settings
from django.db import models


class Subject(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    color = models.CharField(max_length=7, default="#3B82F6")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Material(models.Model):
    class Type(models.TextChoices):
        LESSON = "lesson", "Lesson"
        PRESENTATION = "presentation", "Presentation"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document"
        TEST = "test", "Test"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    content = models.TextField(blank=True)
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="materials")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authored_materials"
    )
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.LESSON)
    file = models.FileField(upload_to="materials/", blank=True)
    video_url = models.URLField(blank=True)
    is_public = models.BooleanField(default=False)
    assigned_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_materials"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class Enrollment(models.Model):
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="enrollments")
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teaching_enrollments",
    )
    is_active = models.BooleanField(default=True)
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "subject"], name="unique_student_subject"),
        ]

    def __str__(self):
        return f"{self.student} → {self.subject}"
