from django.contrib import admin

from .models import Assignment, AssignmentSubmission


class SubmissionInline(admin.TabularInline):
    model = AssignmentSubmission
    extra = 0
    fields = ("student", "status", "score", "submitted_at")
    readonly_fields = ("submitted_at",)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "subject", "status", "publish_at", "due_date")
    list_filter = ("status", "subject")
    search_fields = ("title",)
    filter_horizontal = ("assigned_to",)
    inlines = [SubmissionInline]


@admin.register(AssignmentSubmission)
class AssignmentSubmissionAdmin(admin.ModelAdmin):
    list_display = ("assignment", "student", "status", "score", "submitted_at")
    list_filter = ("status",)
